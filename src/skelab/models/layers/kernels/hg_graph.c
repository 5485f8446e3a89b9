/* Hyper-GCN's graph-convolution product, forward and backward, one (sample, head) at a time.
 *
 * skelab builds this file on first use (skelab/models/layers/native.py) and calls it through
 * ctypes (skelab/models/hypergcn.py, `_GraphProduct`); nothing here knows about Python or torch.
 * All float32. For each (sample, head) b = n * G + g, with I input and O output channels per
 * head, T frames, V joints, R = I * T rows of V joints and L = T * V:
 *
 *   forward   z = x[b] (R, V) @ a[b]^T (V, V)           the joints mixed (a: row u gathers v)
 *             y[b] (O, L) = w[g] (O, I) @ z (I, L) + add[b] (O, V) in every frame
 *   backward  gz = w[g]^T (I, O) @ gy[b] (O, L)
 *             gx[b] = gz @ a[b]                          ga[b] (V, V) = gz^T @ x[b]
 *             gw[g] += gy[b] @ z^T (z recomputed)       gadd[b] (O, V) = gy[b] summed over frames
 *
 * x, y, gy, gx, ga, gadd are contiguous; a and w are read through strides (a is a column slice
 * of a wider matrix). z and gz live in one (R, V) scratch buffer per call, which stays in L2:
 * at Hyper-GCN's sizes (V = 25, I and O = 16 or 32, T = 16-64) the same steps as separate
 * batched BLAS products ran at 10-30 GFLOP/s on one core and wrote and re-read z and gz (13 MB
 * each at the first layers) in memory. Joint rows are held as 8-wide vectors (25 joints padded
 * to 32 in a local copy of the small matrix), accumulators in registers. The functions handle
 * the batch range [b0, b1), so the caller may split the batch over threads (each range with its
 * own scratch and its own gw).
 */

#include <string.h>

#include "vec.h"

#define MAX_J 32 /* joints, padded to 4 vectors */
#define MAX_C 64 /* channels per head */

/* ---- out (R, J) = x (R, K) @ m (K, J), m through strides ---------------------------------- */

/* One block of RB rows with NV output vectors per row. */
#define RIGHT_BLOCK(RB, NV)                                                                     \
    do {                                                                                        \
        v8 acc[RB][NV];                                                                         \
        for (int r = 0; r < RB; r++)                                                            \
            for (int j = 0; j < NV; j++) acc[r][j] = splat(0.0f);                               \
        for (long k = 0; k < K; k++) {                                                          \
            const float *mk = mp + k * MAX_J;                                                   \
            for (int r = 0; r < RB; r++) {                                                      \
                const v8 s = splat(xr[r * K + k]);                                              \
                for (int j = 0; j < NV; j++) acc[r][j] += s * load(mk + 8 * j);                 \
            }                                                                                   \
        }                                                                                       \
        for (int r = 0; r < RB; r++) {                                                          \
            float *o = orow + r * J;                                                            \
            for (int j = 0; j < NV; j++) {                                                      \
                if (8 * j + 8 <= J) {                                                           \
                    store(o + 8 * j, acc[r][j]);                                                \
                } else {                                                                        \
                    for (long c = 8 * j; c < J; c++) o[c] = acc[r][j][c - 8 * j];               \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    } while (0)

#define RIGHT_ROWS(NV)                                                                          \
    do {                                                                                        \
        long r0 = 0;                                                                            \
        for (; r0 + 3 <= R; r0 += 3) {                                                          \
            const float *xr = x + r0 * K;                                                       \
            float *orow = out + r0 * J;                                                         \
            RIGHT_BLOCK(3, NV);                                                                 \
        }                                                                                       \
        for (; r0 < R; r0++) {                                                                  \
            const float *xr = x + r0 * K;                                                       \
            float *orow = out + r0 * J;                                                         \
            RIGHT_BLOCK(1, NV);                                                                 \
        }                                                                                       \
    } while (0)

static void right(const float *x, const float *m, long msk, long msj, float *out, long R,
                  long K, long J) {
    float mp[MAX_J * MAX_J] __attribute__((aligned(32)));
    memset(mp, 0, sizeof(mp));
    for (long k = 0; k < K; k++)
        for (long j = 0; j < J; j++) mp[k * MAX_J + j] = m[k * msk + j * msj];
    const long nv = (J + 7) / 8;
    if (nv == 4)
        RIGHT_ROWS(4);
    else if (nv == 3)
        RIGHT_ROWS(3);
    else if (nv == 2)
        RIGHT_ROWS(2);
    else
        RIGHT_ROWS(1);
}

/* ---- out (K, J) = x^T (K, R) @ y (R, J): a sum over R rows -------------------------------- */

/* rows [r0, r1) of x and y (the last row of y from `last`), KB rows of out, added to op */
#define GRAM_ROWS(KB, NV)                                                                       \
    do {                                                                                        \
        v8 acc[KB][NV];                                                                         \
        for (int i = 0; i < KB; i++)                                                            \
            for (int j = 0; j < NV; j++) acc[i][j] = load(op + (k0 + i) * MAX_J + 8 * j);      \
        for (long r = r0; r < r1; r++) {                                                        \
            const float *yr = r + 1 < R ? y + r * J : last;                                     \
            const float *xr = x + r * K + k0;                                                   \
            for (int i = 0; i < KB; i++) {                                                      \
                const v8 s = splat(xr[i]);                                                      \
                for (int j = 0; j < NV; j++) acc[i][j] += s * load(yr + 8 * j);                 \
            }                                                                                   \
        }                                                                                       \
        for (int i = 0; i < KB; i++)                                                            \
            for (int j = 0; j < NV; j++) store(op + (k0 + i) * MAX_J + 8 * j, acc[i][j]);      \
    } while (0)

#define GRAM_CHUNK(NV)                                                                          \
    do {                                                                                        \
        long k0 = 0;                                                                            \
        for (; k0 + 2 <= K; k0 += 2) GRAM_ROWS(2, NV); /* 3 rows spill a register */                                          \
        for (; k0 < K; k0++) GRAM_ROWS(1, NV);                                                  \
    } while (0)

/* rows per chunk: the chunk's rows of x and y (<= 2 x 16 KB) stay in L1 over the row blocks */
#define GRAM_CHUNK_ROWS 128

static void gram(const float *x, const float *y, float *out, long R, long K, long J) {
    float last[MAX_J] __attribute__((aligned(32)));
    float op[MAX_J * MAX_J] __attribute__((aligned(32))); /* (K, 32): the padded result */
    /* y's rows are read as whole vectors (the padding lanes are never stored); the last row
     * comes from a padded copy, so nothing past the end of y is read */
    memset(last, 0, sizeof(last));
    memcpy(last, y + (R - 1) * J, J * sizeof(float));
    memset(op, 0, sizeof(op));
    const long nv = (J + 7) / 8;
    for (long r0 = 0; r0 < R; r0 += GRAM_CHUNK_ROWS) {
        const long r1 = R - r0 < GRAM_CHUNK_ROWS ? R : r0 + GRAM_CHUNK_ROWS;
        if (nv == 4)
            GRAM_CHUNK(4);
        else if (nv == 3)
            GRAM_CHUNK(3);
        else if (nv == 2)
            GRAM_CHUNK(2);
        else
            GRAM_CHUNK(1);
    }
    for (long k = 0; k < K; k++) memcpy(out + k * J, op + k * MAX_J, J * sizeof(float));
}

/* ---- out (O, L) = w (O, I) @ z (I, L) (+ add (O, V) in every frame) ----------------------- */

static void left(const float *w, long wso, long wsi, const float *z, const float *add,
                 float *out, long O, long I, long L, long V) {
    float wp[MAX_C * MAX_C];              /* (I, O): column i of w contiguous */
    float rep[MAX_C * (MAX_J + 16)];      /* each row of add repeated: periodic over V */
    const long rw = V + 16;
    for (long o = 0; o < O; o++)
        for (long i = 0; i < I; i++) wp[i * O + o] = w[o * wso + i * wsi];
    if (add)
        for (long o = 0; o < O; o++)
            for (long c = 0; c < rw; c++) rep[o * rw + c] = add[o * V + c % V];
    long c = 0;
    for (; c + 16 <= L; c += 16) { /* z's 16 columns (I x 64 B) stay in L1 over the rows */
        const long ph = c % V;     /* columns c..c+15 of add's frames are rep[ph..ph+15] */
        const float *zc = z + c;
        long o0 = 0;
        for (; o0 + 4 <= O; o0 += 4) {
            v8 acc[4][2];
            for (int r = 0; r < 4; r++) {
                acc[r][0] = add ? load(rep + (o0 + r) * rw + ph) : splat(0.0f);
                acc[r][1] = add ? load(rep + (o0 + r) * rw + ph + 8) : splat(0.0f);
            }
            for (long i = 0; i < I; i++) {
                const v8 z0 = load(zc + i * L), z1 = load(zc + i * L + 8);
                const float *wi = wp + i * O + o0;
                for (int r = 0; r < 4; r++) {
                    const v8 s = splat(wi[r]);
                    acc[r][0] += s * z0;
                    acc[r][1] += s * z1;
                }
            }
            for (int r = 0; r < 4; r++) {
                store(out + (o0 + r) * L + c, acc[r][0]);
                store(out + (o0 + r) * L + c + 8, acc[r][1]);
            }
        }
        for (; o0 < O; o0++) { /* rows left over when O is not a multiple of 4 */
            v8 a0 = add ? load(rep + o0 * rw + ph) : splat(0.0f);
            v8 a1 = add ? load(rep + o0 * rw + ph + 8) : splat(0.0f);
            for (long i = 0; i < I; i++) {
                const v8 s = splat(wp[i * O + o0]);
                a0 += s * load(zc + i * L);
                a1 += s * load(zc + i * L + 8);
            }
            store(out + o0 * L + c, a0);
            store(out + o0 * L + c + 8, a1);
        }
    }
    for (; c < L; c++) { /* columns left over when L is not a multiple of 16 */
        for (long o = 0; o < O; o++) {
            float s = add ? add[o * V + c % V] : 0.0f;
            for (long i = 0; i < I; i++) s += wp[i * O + o] * z[i * L + c];
            out[o * L + c] = s;
        }
    }
}

/* ---- out (O, I) += y (O, L) @ z^T (L, I) --------------------------------------------------- */

static void outer(const float *y, const float *z, float *out, long O, long I, long L) {
    const long l8 = L / 8 * 8;
    for (long o0 = 0; o0 < O; o0 += 3) {
        const long ob = O - o0 < 3 ? O - o0 : 3;
        for (long i0 = 0; i0 < I; i0 += 4) {
            const long ib = I - i0 < 4 ? I - i0 : 4;
            v8 acc[3][4];
            for (int r = 0; r < 3; r++)
                for (int q = 0; q < 4; q++) acc[r][q] = splat(0.0f);
            for (long c = 0; c < l8; c += 8) {
                v8 zv[4], yv[3];
                for (int q = 0; q < 4; q++) zv[q] = load(z + (i0 + (q < ib ? q : 0)) * L + c);
                for (int r = 0; r < 3; r++) yv[r] = load(y + (o0 + (r < ob ? r : 0)) * L + c);
                for (int r = 0; r < 3; r++)
                    for (int q = 0; q < 4; q++) acc[r][q] += yv[r] * zv[q];
            }
            for (long r = 0; r < ob; r++) {
                for (long q = 0; q < ib; q++) {
                    float s = hsum(acc[r][q]);
                    for (long c = l8; c < L; c++) s += y[(o0 + r) * L + c] * z[(i0 + q) * L + c];
                    out[(o0 + r) * I + i0 + q] += s;
                }
            }
        }
    }
}

static int sizes_ok(long I, long O, long T, long V, long G) {
    return I >= 1 && I <= MAX_C && O >= 1 && O <= MAX_C && T >= 1 && V >= 1 && V <= MAX_J &&
           G >= 1;
}

/* y = w[g] @ (x[b] @ a[b]^T) + add[b]; a[b] (V, V) at a + b * asb, rows asr apart; w[g]
 * (O, I) contiguous at w + g * O * I; scratch holds I * T * V floats. add may be NULL. */
int skelab_hg_graph_forward(const float *x, const float *a, const float *w, const float *add,
                            float *y, float *scratch, long I, long O, long T, long V, long G,
                            long asb, long asr, long b0, long b1) {
    if (!sizes_ok(I, O, T, V, G)) return 1;
    const long R = I * T, L = T * V;
    for (long b = b0; b < b1; b++) {
        right(x + b * R * V, a + b * asb, 1, asr, scratch, R, V, V);
        left(w + (b % G) * O * I, I, 1, scratch, add ? add + b * O * V : 0, y + b * O * L, O, I,
             L, V);
    }
    return 0;
}

/* gb (O, V) = gy (O, T * V) summed over the frames: the constant term's gradient */
static void frame_sums(const float *gy, float *gb, long O, long T, long V) {
    for (long o = 0; o < O; o++) {
        float acc[MAX_J] = {0};
        const float *row = gy + o * T * V;
        for (long t = 0; t < T; t++)
            for (long v = 0; v < V; v++) acc[v] += row[t * V + v];
        memcpy(gb + o * V, acc, V * sizeof(float));
    }
}

/* The gradients of x, a, w and add from gy (layouts as the forward's; gx, ga, gadd may each be
 * NULL when not wanted; gw, (G, O, I), is added to). scratch holds 2 * I * T * V floats. */
int skelab_hg_graph_backward(const float *x, const float *a, const float *w, const float *gy,
                             float *gx, float *ga, float *gw, float *gadd, float *scratch,
                             long I, long O, long T, long V, long G, long asb, long asr, long b0,
                             long b1) {
    if (!sizes_ok(I, O, T, V, G)) return 1;
    const long R = I * T, L = T * V;
    float *gz = scratch, *z = scratch + R * V;
    for (long b = b0; b < b1; b++) {
        const float *xb = x + b * R * V, *ab = a + b * asb, *gyb = gy + b * O * L;
        const float *wg = w + (b % G) * O * I;
        left(wg, 1, I, gyb, 0, gz, I, O, L, V); /* w^T @ gy */
        if (gx) right(gz, ab, asr, 1, gx + b * R * V, R, V, V);
        if (ga) gram(gz, xb, ga + b * V * V, R, V, V);
        if (gw) {
            right(xb, ab, 1, asr, z, R, V, V);
            outer(gyb, z, gw + (b % G) * O * I, O, I, L);
        }
        if (gadd) frame_sums(gyb, gadd + b * O * V, O, T, V);
    }
    return 0;
}

/* ---- the graph convolution's ending: relu(bn(y) + res), its backward fused into the above --- */

/* Per channel c of (N, C, L) tensors, over channels [c0, c1): s1[c] = sum of g, s2[c] = sum
 * of g * y and (where r is given) s3[c] = sum of g * r, where g = grad where out > 0, else 0
 * (the ReLU's mask). Float32 rows, float64 totals. */
int skelab_hg_bn_sums(const float *grad, const float *out, const float *y, const float *r,
                      double *s1, double *s2, double *s3, long N, long C, long L, long c0,
                      long c1) {
    if (N < 1 || C < 1 || L < 1) return 1;
    const long l8 = L / 8 * 8;
    for (long c = c0; c < c1; c++) {
        double t1 = 0.0, t2 = 0.0, t3 = 0.0;
        for (long n = 0; n < N; n++) {
            const long at = (n * C + c) * L;
            const float *g = grad + at, *o = out + at, *yy = y + at, *rr = r ? r + at : 0;
            v8 a1 = splat(0.0f), a2 = splat(0.0f), a3 = splat(0.0f);
            for (long l = 0; l < l8; l += 8) {
                const v8 m = (v8)((v8i)load(g + l) & (load(o + l) > splat(0.0f)));
                a1 += m;
                a2 += m * load(yy + l);
                if (rr) a3 += m * load(rr + l);
            }
            float r1 = hsum(a1), r2 = hsum(a2), r3 = hsum(a3);
            for (long l = l8; l < L; l++) {
                const float m = o[l] > 0.0f ? g[l] : 0.0f;
                r1 += m;
                r2 += m * yy[l];
                if (rr) r3 += m * rr[l];
            }
            t1 += r1;
            t2 += r2;
            t3 += r3;
        }
        s1[c] = t1;
        s2[c] = t2;
        if (s3) s3[c] = t3;
    }
    return 0;
}

/* The backward of out = relu(bn(y) + res) with y = the graph product (forward above), from
 * grad = dL/dout: g = grad masked by out > 0; gy = k[c, 0] * (g - k[c, 1] - (y - k[c, 3]) *
 * k[c, 2]) (BatchNorm's input gradient, coefficients per channel from skelab_hg_bn_sums) is
 * made per (sample, head) in scratch, never in memory; then the products' backward as in
 * skelab_hg_graph_backward. The residual's gradient g is added to gx where res is x itself
 * (res_is_x: C_in = C_out, the same layout), else written to gres (may be NULL); where kd is
 * given, res = bn_d(r) (the `down` path's BatchNorm, coefficients kd per channel as k) and gres
 * receives r's gradient instead. scratch holds (2 I + O) * T * V floats. */
int skelab_hg_graph_end_backward(const float *x, const float *a, const float *w,
                                 const float *grad, const float *out, const float *y,
                                 const float *k, const float *r, const float *kd, float *gx,
                                 float *ga, float *gw, float *gadd, float *gres, long res_is_x,
                                 float *scratch, long I, long O,
                                 long T, long V, long G, long asb, long asr, long b0, long b1) {
    if (!sizes_ok(I, O, T, V, G) || (res_is_x && (I != O || !gx))) return 1;
    const long R = I * T, L = T * V;
    const long l8 = L / 8 * 8;
    float *gz = scratch, *z = scratch + R * V, *gy = scratch + 2 * R * V;
    for (long b = b0; b < b1; b++) {
        const float *xb = x + b * R * V, *ab = a + b * asb;
        const float *wg = w + (b % G) * O * I;
        const long at = b * O * L; /* this (sample, head)'s O channels of grad, out, y */
        const long c0 = (b % G) * O;
        for (long o = 0; o < O; o++) {
            const float *kc = k + 4 * (c0 + o);
            const v8 k0 = splat(kc[0]), k1 = splat(kc[1]), k2 = splat(kc[2]), k3 = splat(kc[3]);
            const float *g = grad + at + o * L, *ou = out + at + o * L, *yy = y + at + o * L;
            float *dst = gy + o * L, *gr = gres ? gres + at + o * L : 0;
            const float *rr = kd ? r + at + o * L : 0; /* res = bn_d(r): gres is r's gradient */
            const float *kq = kd ? kd + 4 * (c0 + o) : kc;
            const v8 d0 = splat(kq[0]), d1 = splat(kq[1]), d2 = splat(kq[2]), d3 = splat(kq[3]);
            for (long l = 0; l < l8; l += 8) {
                const v8 m = (v8)((v8i)load(g + l) & (load(ou + l) > splat(0.0f)));
                store(dst + l, k0 * (m - k1 - (load(yy + l) - k3) * k2));
                if (gr) store(gr + l, rr ? d0 * (m - d1 - (load(rr + l) - d3) * d2) : m);
            }
            for (long l = l8; l < L; l++) {
                const float m = ou[l] > 0.0f ? g[l] : 0.0f;
                dst[l] = kc[0] * (m - kc[1] - (yy[l] - kc[3]) * kc[2]);
                if (gr) gr[l] = rr ? kq[0] * (m - kq[1] - (rr[l] - kq[3]) * kq[2]) : m;
            }
        }
        left(wg, 1, I, gy, 0, gz, I, O, L, V); /* w^T @ gy */
        if (gx) {
            float *gxb = gx + b * R * V;
            right(gz, ab, asr, 1, gxb, R, V, V);
            if (res_is_x) { /* + g: x's rows (i, t) of this head are out's channels' frames */
                const float *g = grad + at, *ou = out + at;
                const long n = R * V, n8 = n / 8 * 8;
                for (long l = 0; l < n8; l += 8) {
                    const v8 m = (v8)((v8i)load(g + l) & (load(ou + l) > splat(0.0f)));
                    store(gxb + l, load(gxb + l) + m);
                }
                for (long l = n8; l < n; l++) gxb[l] += ou[l] > 0.0f ? g[l] : 0.0f;
            }
        }
        if (ga) gram(gz, xb, ga + b * V * V, R, V, V);
        if (gw) {
            right(xb, ab, 1, asr, z, R, V, V);
            outer(gy, z, gw + (b % G) * O * I, O, I, L);
        }
        if (gadd) frame_sums(gy, gadd + b * O * V, O, T, V);
    }
    return 0;
}

/* out = relu(y * a[c] + b[c] + r * ad[c] + bd[c]) over (N, C, L), channels [c0, c1): two
 * BatchNorms' affine maps, their sum and the ReLU in one pass. */
int skelab_hg_apply2(const float *y, const float *a, const float *b, const float *r,
                     const float *ad, const float *bd, float *out, long N, long C, long L,
                     long c0, long c1) {
    if (N < 1 || C < 1 || L < 1) return 1;
    const long l8 = L / 8 * 8;
    for (long n = 0; n < N; n++)
        for (long c = c0; c < c1; c++) {
            const long at = (n * C + c) * L;
            const float *yy = y + at, *rr = r + at;
            float *o = out + at;
            const float sh = b[c] + bd[c];
            const v8 va = splat(a[c]), vd = splat(ad[c]), vs = splat(sh), zero = splat(0.0f);
            for (long l = 0; l < l8; l += 8)
                store(o + l, vmax(zero, load(yy + l) * va + load(rr + l) * vd + vs)); /* NaN kept */
            for (long l = l8; l < L; l++) {
                const float v = yy[l] * a[c] + rr[l] * ad[c] + sh;
                o[l] = v < 0.0f ? 0.0f : v;
            }
        }
    return 0;
}
