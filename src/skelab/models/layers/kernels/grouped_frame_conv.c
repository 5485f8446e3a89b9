/* A grouped convolution over frames with few channels per group, forward and backward.
 *
 * skelab builds this file on first use (skelab/models/layers/native.py) and calls it through
 * ctypes. SkateFormer's T-Conv branch is a (K, 1) convolution with 8 groups of 3 or 6
 * channels: a few million multiply-adds, which oneDNN's grouped kernels take 5-20 ms for.
 * Here each output plane (T x V values of one sample and channel) is built 32 values at a
 * time in registers, as a sum over the group's input planes and the K taps of shifted rows
 * of a zero-padded input (no edge cases), and stored once.
 *
 *   xp (N, C, T + 2P, V): the input padded with P zero frames each side; w (C, C / G, K);
 *   b (C) or NULL; y (N, C, T, V); all contiguous float32. Stride 1:
 *   y[n, o, t] = b[o] + sum_{i, k} w[o, i, k] xp[n, g(o) C/G + i, t + k],  g(o) = o / (C/G).
 * The backward takes the same-size case, 2P = K - 1 (T-Conv's).
 */

#include <string.h>

#include "vec.h"

#define BLOCK 32 /* output values a register block holds: 4 vectors */

/* out[j] (= out[j] if accumulate, else 0) + sum_{i < planes, k < K} coef[i * K + k]
 * src[i * src_plane + j + k * V], for j in [0, count) */
static void shifted_sum(float *restrict out, const float *restrict src, long src_plane,
                        const float *restrict coef, long planes, long K, long V, long count,
                        float start, int accumulate) {
    long j = 0;
    for (; j + BLOCK <= count; j += BLOCK) {
        v8 a0, a1, a2, a3;
        if (accumulate) {
            a0 = load(out + j), a1 = load(out + j + 8), a2 = load(out + j + 16),
            a3 = load(out + j + 24);
        } else {
            a0 = a1 = a2 = a3 = splat(start);
        }
        for (long i = 0; i < planes; i++)
            for (long k = 0; k < K; k++) {
                const v8 c = splat(coef[i * K + k]);
                const float *s = src + i * src_plane + j + k * V;
                a0 += c * load(s), a1 += c * load(s + 8), a2 += c * load(s + 16);
                a3 += c * load(s + 24);
            }
        store(out + j, a0), store(out + j + 8, a1), store(out + j + 16, a2);
        store(out + j + 24, a3);
    }
    for (; j < count; j++) {
        float a = accumulate ? out[j] : start;
        for (long i = 0; i < planes; i++)
            for (long k = 0; k < K; k++) a += coef[i * K + k] * src[i * src_plane + j + k * V];
        out[j] = a;
    }
}

/* sum_j a[j] b[j] over [0, count) */
static inline float dot(const float *restrict a, const float *restrict b, long count) {
    v8 acc0 = splat(0.0f), acc1 = splat(0.0f);
    long j = 0;
    for (; j + 16 <= count; j += 16) {
        acc0 += load(a + j) * load(b + j);
        acc1 += load(a + j + 8) * load(b + j + 8);
    }
    float s = hsum(acc0 + acc1);
    for (; j < count; j++) s += a[j] * b[j];
    return s;
}

int skelab_grouped_frame_conv_forward(const float *xp, const float *w, const float *b, float *y,
                                      long N, long C, long T, long V, long K, long P, long G,
                                      long n0, long n1) {
    if (C % G) return 1;
    const long cg = C / G, plane = T * V, padded = (T + 2 * P) * V;
    for (long n = n0; n < n1; n++)
        for (long o = 0; o < C; o++)
            shifted_sum(y + (n * C + o) * plane, xp + (n * C + o / cg * cg) * padded, padded,
                        w + o * cg * K, cg, K, V, plane, b ? b[o] : 0.0f, 0);
    return 0;
}

/* From gyp (N, C, T + 2P, V), the output gradient padded with P zero frames each side:
 * dx (N, C, T, V) written for samples n0..n1, and dw (C, C/G, K) and db (C) ADDED to (their
 * sums over those samples). dx, dw or db may be NULL. */
int skelab_grouped_frame_conv_backward(const float *xp, const float *w, const float *gyp,
                                       float *dx, float *dw, float *db, long N, long C, long T,
                                       long V, long K, long P, long G, long n0, long n1) {
    if (C % G || K > 64 || C / G > 64 || 2 * P != K - 1) return 1;
    const long cg = C / G, plane = T * V, padded = (T + 2 * P) * V;
    float flipped[64 * 64]; /* one input channel's taps over its group's outputs, reversed */
    for (long n = n0; n < n1; n++) {
        for (long ci = 0; ci < C && dx; ci++) {
            /* dx[t] = sum_{o in group, k} w[o, i, k] gy[t + P - k] = ... gyp[t + (K - 1 - k)] */
            const long g = ci / cg, i = ci % cg;
            for (long o = 0; o < cg; o++)
                for (long k = 0; k < K; k++)
                    flipped[o * K + k] = w[((g * cg + o) * cg + i) * K + (K - 1 - k)];
            shifted_sum(dx + (n * C + ci) * plane, gyp + (n * C + g * cg) * padded, padded,
                        flipped, cg, K, V, plane, 0.0f, 0);
        }
        for (long o = 0; o < C; o++) {
            const float *go = gyp + (n * C + o) * padded + P * V; /* the unpadded frames */
            if (db) {
                v8 acc = splat(0.0f);
                long j = 0;
                for (; j + 8 <= plane; j += 8) acc += load(go + j);
                float s = hsum(acc);
                for (; j < plane; j++) s += go[j];
                db[o] += s;
            }
            if (!dw) continue;
            const float *xg = xp + (n * C + o / cg * cg) * padded;
            for (long i = 0; i < cg; i++)
                for (long k = 0; k < K; k++)
                    dw[(o * cg + i) * K + k] += dot(go, xg + i * padded + k * V, plane);
        }
    }
    return 0;
}
