/* Exact (erf) GELU on the CPU: the MLP's bias + GELU forward and its backward, one pass each.
 *
 * skelab builds this file on first use (skelab/models/layers/native.py) and calls it through
 * ctypes. ATen's erf and exp are accurate to about 1 ulp but cost about 2 ns an element here,
 * more than the memory traffic; this form uses Abramowitz and Stegun's 7.1.26 for erf (absolute
 * error at most 1.5e-7, so the GELU's error is at most 0.75e-7 |x|) with exp(-x^2/2) from
 * vec.h, which the backward's density shares.
 *
 *   gelu(x)  = x Phi(x),             Phi(x) = (1 + erf(x / sqrt 2)) / 2
 *   gelu'(x) = Phi(x) + x phi(x),    phi(x) = exp(-x^2 / 2) / sqrt(2 pi)
 */

#include "vec.h"

/* Phi(x) and exp(-x^2 / 2) of 8 lanes */
INLINE v8 normal_cdf(v8 x, v8 *gauss) {
    const v8 z = x * splat(0.70710678118654752f);
    const v8 az = (v8)((v8i)z & ~(v8i)splat(-0.0f)); /* |z|: the sign bit cleared */
    const v8 t = splat(1.0f) / (splat(1.0f) + splat(0.3275911f) * az);
    v8 p = splat(1.061405429f);
    p = p * t + splat(-1.453152027f);
    p = p * t + splat(1.421413741f);
    p = p * t + splat(-0.284496736f);
    p = p * t + splat(0.254829592f);
    const v8 e = vexp(-(z * z));
    *gauss = e;
    const v8 tail = p * t * e; /* erfc(|z|) */
    const v8i neg = z < splat(0.0f);
    /* Phi = 1 - erfc(|z|) / 2 for z >= 0, erfc(|z|) / 2 for z < 0 */
    const v8 half = splat(0.5f) * tail;
    return (v8)((neg & (v8i)half) | (~neg & (v8i)(splat(1.0f) - half)));
}

/* h (rows, cols) += bias (cols) in place, and a = gelu(h); cols a multiple of 8 */
int skelab_bias_gelu(float *h, const float *bias, float *a, long rows, long cols) {
    if (cols % 8) return 1;
    for (long r = 0; r < rows; r++) {
        float *hr = h + r * cols, *ar = a + r * cols;
        for (long c = 0; c < cols; c += 8) {
            v8 x = load(hr + c);
            if (bias) {
                x += load(bias + c);
                store(hr + c, x);
            }
            v8 e;
            store(ar + c, x * normal_cdf(x, &e));
        }
    }
    return 0;
}

/* g *= gelu'(h) in place, over count values (any count) */
int skelab_gelu_backward(float *g, const float *h, long count) {
    long i = 0;
    for (; i + 8 <= count; i += 8) {
        const v8 x = load(h + i);
        v8 e;
        const v8 cdf = normal_cdf(x, &e);
        store(g + i, load(g + i) * (cdf + x * e * splat(0.39894228040143268f)));
    }
    if (i < count) { /* the tail through a zero-padded vector */
        float xs[8] = {0}, gs[8] = {0};
        for (long l = 0; i + l < count; l++) xs[l] = h[i + l], gs[l] = g[i + l];
        const v8 x = load(xs);
        v8 e;
        const v8 cdf = normal_cdf(x, &e);
        store(gs, load(gs) * (cdf + x * e * splat(0.39894228040143268f)));
        for (long l = 0; i + l < count; l++) g[i + l] = gs[l];
    }
    return 0;
}
