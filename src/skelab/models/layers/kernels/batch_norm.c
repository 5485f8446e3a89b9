/* Training-mode BatchNorm with the residual sum and ReLU after it, forward and backward, on
 * the CPU: each pass over the (N, C, L) tensor is one vectorized loop.
 *
 * skelab builds this file on first use (skelab/models/layers/native.py) and calls it through
 * ctypes; skelab/models/layers/batchnorm.py forms the per-channel coefficients (in float64)
 * between the passes. Every function takes channels c0..c1, so that threads split channels.
 *
 *   statistics: mean[c] = sum / count (float32 row sums of L values, added in float64), then
 *               m2[c] = sum (y - mean)^2 the same way (two passes, as exact as ATen's)
 *   apply:      out = y * scale[c] + shift[c] (+ res) (ReLU), out at any (n, c) strides
 *   reduce:     g' = g where out > 0 (with the ReLU) else g; sum_g[c] = sum g',
 *               sum_gx[c] = sum g' (y - mean[c])
 *   backward:   dy = a[c] g' + k[c] y + m[c]; gres = g' where asked
 */

#include "vec.h"

static inline float row_sum(const float *restrict x, long L) {
    v8 a0 = splat(0.0f), a1 = splat(0.0f);
    long j = 0;
    for (; j + 16 <= L; j += 16) a0 += load(x + j), a1 += load(x + j + 8);
    float s = hsum(a0 + a1);
    for (; j < L; j++) s += x[j];
    return s;
}

static inline float row_m2(const float *restrict x, float mean, long L) {
    const v8 m = splat(mean);
    v8 a0 = splat(0.0f), a1 = splat(0.0f);
    long j = 0;
    for (; j + 16 <= L; j += 16) {
        const v8 d0 = load(x + j) - m, d1 = load(x + j + 8) - m;
        a0 += d0 * d0, a1 += d1 * d1;
    }
    float s = hsum(a0 + a1);
    for (; j < L; j++) s += (x[j] - mean) * (x[j] - mean);
    return s;
}

int skelab_bn_statistics(const float *y, long N, long C, long L, double *mean, double *m2,
                         long c0, long c1) {
    const double count = (double)N * (double)L;
    for (long c = c0; c < c1; c++) {
        double s = 0.0;
        for (long n = 0; n < N; n++) s += row_sum(y + (n * C + c) * L, L);
        mean[c] = s / count;
        const float mf = (float)mean[c];
        double q = 0.0;
        for (long n = 0; n < N; n++) q += row_m2(y + (n * C + c) * L, mf, L);
        m2[c] = q;
    }
    return 0;
}

int skelab_bn_apply(const float *y, const float *scale, const float *shift, const float *res,
                    float *out, long out_sn, long out_sc, long N, long C, long L, long relu,
                    long c0, long c1) {
    const v8 zero = splat(0.0f);
    for (long n = 0; n < N; n++)
        for (long c = c0; c < c1; c++) {
            const float *restrict x = y + (n * C + c) * L;
            const float *restrict r = res ? res + (n * C + c) * L : 0;
            float *restrict o = out + n * out_sn + c * out_sc;
            const v8 a = splat(scale[c]), b = splat(shift[c]);
            long j = 0;
            for (; j + 8 <= L; j += 8) {
                v8 v = load(x + j) * a + b;
                if (r) v += load(r + j);
                if (relu) v = vmax(zero, v); /* maxps returns its second operand, NaN, as is */
                store(o + j, v);
            }
            for (; j < L; j++) {
                float v = x[j] * scale[c] + shift[c];
                if (r) v += r[j];
                if (relu && v < 0.0f) v = 0.0f;
                o[j] = v;
            }
        }
    return 0;
}

/* g' = g where out > 0, else 0 (out NULL: g' = g) */
static inline v8 masked(v8 g, const float *out) {
    if (!out) return g;
    const v8i keep = load(out) > splat(0.0f);
    return (v8)((v8i)g & keep);
}

int skelab_bn_reduce(const float *g, const float *out, const float *y, const double *mean,
                     long N, long C, long L, double *sum_g, double *sum_gx, long c0, long c1) {
    for (long c = c0; c < c1; c++) {
        double sg = 0.0, sgx = 0.0;
        const float mf = (float)mean[c];
        const v8 m = splat(mf);
        for (long n = 0; n < N; n++) {
            const long at = (n * C + c) * L;
            const float *restrict gr = g + at, *restrict x = y + at;
            const float *restrict o = out ? out + at : 0;
            v8 a = splat(0.0f), b = splat(0.0f);
            long j = 0;
            for (; j + 8 <= L; j += 8) {
                const v8 gv = masked(load(gr + j), o ? o + j : 0);
                a += gv;
                b += gv * (load(x + j) - m);
            }
            float fa = hsum(a), fb = hsum(b);
            for (; j < L; j++) {
                const float gv = (o && !(o[j] > 0.0f)) ? 0.0f : gr[j];
                fa += gv;
                fb += gv * (x[j] - mf);
            }
            sg += fa, sgx += fb;
        }
        sum_g[c] = sg, sum_gx[c] = sgx;
    }
    return 0;
}

int skelab_bn_backward(const float *g, const float *out, const float *y, const float *a,
                       const float *k, const float *m, float *dy, float *gres, long N, long C,
                       long L, long c0, long c1) {
    for (long n = 0; n < N; n++)
        for (long c = c0; c < c1; c++) {
            const long at = (n * C + c) * L;
            /* dy may be g itself (each value is read before it is written) */
            const float *gr = g + at, *restrict x = y + at;
            const float *restrict o = out ? out + at : 0;
            float *d = dy ? dy + at : 0, *restrict gz = gres ? gres + at : 0;
            const v8 av = splat(a[c]), kv = splat(k[c]), mv = splat(m[c]);
            long j = 0;
            for (; j + 8 <= L; j += 8) {
                const v8 gv = masked(load(gr + j), o ? o + j : 0);
                if (d) store(d + j, av * gv + kv * load(x + j) + mv);
                if (gz) store(gz + j, gv);
            }
            for (; j < L; j++) {
                const float gv = (o && !(o[j] > 0.0f)) ? 0.0f : gr[j];
                if (d) d[j] = a[c] * gv + k[c] * x[j] + m[c];
                if (gz) gz[j] = gv;
            }
        }
    return 0;
}
