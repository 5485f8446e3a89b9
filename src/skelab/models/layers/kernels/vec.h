/* 8-wide float vectors for skelab's CPU kernels (GCC/Clang vector extensions): loads and
 * stores at any alignment, lane reductions, and exp(x) for x <= 0. With -mavx2 -mfma every
 * operation is one AVX2 instruction or a short sequence; without, the compiler splits them. */

#ifndef SKELAB_VEC_H
#define SKELAB_VEC_H

#include <math.h>

typedef float v8 __attribute__((vector_size(32)));
typedef int v8i __attribute__((vector_size(32)));
/* unaligned access into caller buffers */
typedef float v8u __attribute__((vector_size(32), aligned(4)));

#define INLINE static inline __attribute__((always_inline))

static inline v8 load(const float *p) { return (v8)(*(const v8u *)p); }
static inline void store(float *p, v8 x) { *(v8u *)p = (v8u)x; }
static inline v8 splat(float x) { return (v8){x, x, x, x, x, x, x, x}; }

#if defined(__AVX__)
#include <immintrin.h>
/* the larger lane of a and b; a NaN in b is returned (maxps returns its second operand) */
static inline v8 vmax(v8 a, v8 b) { return (v8)_mm256_max_ps((__m256)a, (__m256)b); }
static inline v8 vround(v8 x) { return (v8)_mm256_round_ps((__m256)x, _MM_FROUND_TO_NEAREST_INT); }
#else
static inline v8 vmax(v8 a, v8 b) {
    const v8i m = a > b;
    return (v8)((m & (v8i)a) | (~m & (v8i)b));
}
static inline v8 vround(v8 x) { /* floor(x + 0.5): the mask is -1 where the truncation is above */
    const v8 h = x + (v8){0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    const v8 t = __builtin_convertvector(__builtin_convertvector(h, v8i), v8);
    return t + __builtin_convertvector(t > h, v8);
}
#endif

/* lane reductions as three halving steps: x + x swapped by halves, pairs, neighbours */
static inline float hsum(v8 x) {
    x += __builtin_shuffle(x, (v8i){4, 5, 6, 7, 0, 1, 2, 3});
    x += __builtin_shuffle(x, (v8i){2, 3, 0, 1, 6, 7, 4, 5});
    x += __builtin_shuffle(x, (v8i){1, 0, 3, 2, 5, 4, 7, 6});
    return x[0];
}

static inline float hmax(v8 x) {
    x = vmax(x, __builtin_shuffle(x, (v8i){4, 5, 6, 7, 0, 1, 2, 3}));
    x = vmax(x, __builtin_shuffle(x, (v8i){2, 3, 0, 1, 6, 7, 4, 5}));
    x = vmax(x, __builtin_shuffle(x, (v8i){1, 0, 3, 2, 5, 4, 7, 6}));
    return x[0];
}

/* exp(x) to about 1 ulp (Cephes' single-precision polynomial after a Cody-Waite reduction by
 * ln 2) for x <= 0, the only arguments the callers pass (scores less their row's maximum or
 * log-sum-exp); below -87.3 it gives about 1e-38 instead of underflowing, and a NaN stays NaN. */
INLINE v8 vexp(v8 x) {
    x = vmax(splat(-87.3365447504f), x);
    const v8 n = vround(x * splat(1.44269504088896341f));
    const v8 r = x - n * splat(0.693359375f) - n * splat(-2.12194440e-4f);
    v8 p = splat(1.9875691500e-4f);
    p = p * r + splat(1.3981999507e-3f);
    p = p * r + splat(8.3334519073e-3f);
    p = p * r + splat(4.1665795894e-2f);
    p = p * r + splat(1.6666665459e-1f);
    p = p * r + splat(5.0000001201e-1f);
    p = p * (r * r) + r + splat(1.0f);
    const v8i e = (__builtin_convertvector(n, v8i) + 127) << 23;
    return p * (v8)e;
}

#endif
