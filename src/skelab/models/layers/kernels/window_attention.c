/* Windowed self-attention at narrow head widths, forward and backward, one pass per row.
 *
 * skelab builds this file on first use (skelab/models/layers/native.py) and calls it through
 * ctypes; nothing here knows about Python or torch. Layouts (all float32, contiguous):
 *
 *   qkv   (3, B, H, D, N)  q, k and v of B windows, H heads, head width D, N tokens
 *   bias  (H, N, N)        added to the scores (may be NULL)
 *   out   (B, H, D, N)     softmax((q * scale) k^T + bias) v, head width before tokens
 *   stats (B, H, 2, N)     each score row's maximum m and 1 / sum_j exp(s_j - m), from which
 *                          the backward recomputes the probabilities; NaN where the row's
 *                          scores hold a NaN or +inf (the caller takes another path)
 *
 * At head widths of 3 and 6 the matrix-product form spends its time writing and re-reading
 * the N x N scores (a bias copy, the product, softmax, the second product; five sweeps in the
 * backward). Here each score row lives in one small buffer: it is made, exponentiated and used
 * while in L1, and the backward recomputes it from q, k, the bias and the row's log-sum-exp
 * instead of storing it (from the row's maximum and normaliser: no logarithm per row). Rows are processed 8 tokens at a time through GCC/Clang vector
 * extensions (AVX2 when built with -mavx2, two SSE halves otherwise); N must be a multiple of 8.
 *
 * q is scaled before its product with k, as upstream computes (q * scale) @ k^T.
 */

#include <math.h>
#include <string.h>

#include "vec.h"

#define MAX_TOKENS 2048
#define MAX_WIDTH 32

/* One score row: s[j] = bias[j] + sum_d qs[d] k[d, j] (qs: the scaled query, splatted), written to s; returns its maximum
 * (a NaN in the row may be skipped here; it reaches the row's sum of exponentials). */
INLINE float score_row(const float *restrict k, const float *restrict brow, const v8 *qs, long d,
                       long n, float *restrict s) {
    v8 mx = splat(-INFINITY);
    for (long j = 0; j < n; j += 8) {
        v8 a = brow ? load(brow + j) : splat(0.0f);
        for (long c = 0; c < d; c++) a += qs[c] * load(k + c * n + j);
        store(s + j, a);
        mx = vmax(a, mx);
    }
    return hmax(mx);
}

INLINE void forward(const float *qkv, const float *bias, float *out, float *stats, long B, long H,
                    long d, long n, float scale, long b0, long b1) {
    float s[MAX_TOKENS] __attribute__((aligned(32)));
    const long plane = B * H * d * n;
    for (long b = b0; b < b1; b++) {
        for (long h = 0; h < H; h++) {
            const long at = (b * H + h) * d * n;
            const float *restrict q = qkv + at, *restrict k = qkv + plane + at;
            const float *restrict v = qkv + 2 * plane + at;
            const float *restrict bh = bias ? bias + h * n * n : 0;
            float *restrict o = out + at, *restrict l = stats + (b * H + h) * 2 * n;
            for (long i = 0; i < n; i++) {
                v8 qs[MAX_WIDTH];
                for (long c = 0; c < d; c++) qs[c] = splat(q[c * n + i] * scale);
                const float m = score_row(k, bh ? bh + i * n : 0, qs, d, n, s);
                v8 tot = splat(0.0f);
                v8 acc[MAX_WIDTH];
                for (long c = 0; c < d; c++) acc[c] = splat(0.0f);
                for (long j = 0; j < n; j += 8) {
                    v8 e = vexp(load(s + j) - splat(m));
                    tot += e;
                    for (long c = 0; c < d; c++) acc[c] += e * load(v + c * n + j);
                }
                const float sum = hsum(tot), inv = 1.0f / sum;
                /* NaN where the row held a NaN, or a +inf (inf - inf): flagged for the caller */
                const int ok = sum < INFINITY && m < INFINITY;
                l[i] = ok ? m : NAN;
                l[n + i] = ok ? inv : NAN;
                for (long c = 0; c < d; c++) o[c * n + i] = hsum(acc[c]) * inv;
            }
        }
    }
}

/* The head width as a compile-time constant where it is one of SkateFormer's (3 and 6), so
 * that the per-width loops unroll and their accumulators stay in registers. */
#define BY_WIDTH(call, d)       \
    do {                        \
        if ((d) == 3)           \
            call(3);            \
        else if ((d) == 6)      \
            call(6);            \
        else                    \
            call(d);            \
    } while (0)

int skelab_window_attention_forward(const float *qkv, const float *bias, float *out, float *stats,
                                    long B, long H, long d, long n, float scale, long b0,
                                    long b1) {
    if (n % 8 || n > MAX_TOKENS || d > MAX_WIDTH) return 1;
#define FWD(w) forward(qkv, bias, out, stats, B, H, w, n, scale, b0, b1)
    BY_WIDTH(FWD, d);
    return 0;
}

/* Gradients of q, k and v (written to dqkv, same layout as qkv, windows b0..b1 only) and,
 * when dbias is not NULL, the bias gradient summed over those windows and ADDED to dbias. */
INLINE void backward(const float *qkv, const float *bias, const float *out, const float *stats,
                     const float *dout, float *dqkv, float *dbias, long B, long H, long d, long n,
                     float scale, long b0, long b1) {
    const long plane = B * H * d * n;
    for (long h = 0; h < H; h++) {
        const float *restrict bh = bias ? bias + h * n * n : 0;
        float *restrict dbh = dbias ? dbias + h * n * n : 0;
        for (long b = b0; b < b1; b++) {
            const long at = (b * H + h) * d * n;
            const float *restrict q = qkv + at, *restrict k = qkv + plane + at;
            const float *restrict v = qkv + 2 * plane + at, *restrict o = out + at;
            const float *restrict g = dout + at, *restrict l = stats + (b * H + h) * 2 * n;
            float *restrict dq = dqkv + at, *restrict dk = dqkv + plane + at;
            float *restrict dv = dqkv + 2 * plane + at;
            memset(dk, 0, sizeof(float) * d * n);
            memset(dv, 0, sizeof(float) * d * n);
            for (long i = 0; i < n; i++) {
                v8 qs[MAX_WIDTH], go[MAX_WIDTH], acc[MAX_WIDTH];
                float delta = 0.0f; /* rowsum(dP * P) = dO_i . O_i */
                for (long c = 0; c < d; c++) {
                    qs[c] = splat(q[c * n + i] * scale);
                    go[c] = splat(g[c * n + i]);
                    delta += g[c * n + i] * o[c * n + i];
                    acc[c] = splat(0.0f);
                }
                const v8 mi = splat(l[i]), inv = splat(l[n + i]), dl = splat(delta);
                const float *restrict brow = bh ? bh + i * n : 0;
                float *restrict dbrow = dbh ? dbh + i * n : 0;
                for (long j = 0; j < n; j += 8) {
                    /* the score again, as the forward made it, then its probability */
                    v8 a = brow ? load(brow + j) : splat(0.0f);
                    for (long c = 0; c < d; c++) a += qs[c] * load(k + c * n + j);
                    const v8 p = vexp(a - mi) * inv;
                    v8 dp = splat(0.0f);
                    for (long c = 0; c < d; c++) dp += go[c] * load(v + c * n + j);
                    const v8 ds = p * (dp - dl);
                    if (dbrow) store(dbrow + j, load(dbrow + j) + ds);
                    for (long c = 0; c < d; c++) {
                        acc[c] += ds * load(k + c * n + j);
                        store(dk + c * n + j, load(dk + c * n + j) + ds * qs[c]);
                        store(dv + c * n + j, load(dv + c * n + j) + p * go[c]);
                    }
                }
                for (long c = 0; c < d; c++) dq[c * n + i] = hsum(acc[c]) * scale;
            }
        }
    }
}

int skelab_window_attention_backward(const float *qkv, const float *bias, const float *out,
                                     const float *stats, const float *dout, float *dqkv,
                                     float *dbias, long B, long H, long d, long n, float scale,
                                     long b0, long b1) {
    if (n % 8 || n > MAX_TOKENS || d > MAX_WIDTH) return 1;
#define BWD(w) backward(qkv, bias, out, stats, dout, dqkv, dbias, B, H, w, n, scale, b0, b1)
    BY_WIDTH(BWD, d);
    return 0;
}
