/* Hyper-GCN's input BatchNorm (data_bn) on the tanh joint embedding, with the reordering to the
 * blocks' layout, forward and backward.
 *
 * skelab builds this file on first use (skelab/models/layers/native.py) and calls it through
 * ctypes (skelab/models/hypergcn.py, `_EmbedNorm`); nothing here knows about Python or torch.
 * All float32 (sums in float64). Layouts, for N samples, M persons, V joints, E embedding
 * channels, T frames and C = M * V * E BatchNorm channels c = (m * V + v) * E + e:
 *
 *   th   (N, C, T)        tanh(embedding), as data_bn normalises it (channel rows of T)
 *   out  (N, M, E, T, V)  th normalised, laid out as the blocks read it: (N * M, E, T, V)
 *   g    (N, M, E, T, V)  out's gradient
 *
 * In torch this is BatchNorm's pass, then a transposing copy of its output; backward a copy
 * of the transposed gradient, BatchNorm's backward and tanh's backward: three full-size
 * (13 MB) fresh tensors each step. Here the forward writes out in its final layout, and the
 * backward reads g in that layout and writes the pre-tanh gradient over th (which no one
 * needs after it). Each function takes an embedding-channel range [e0, e1) (or a BatchNorm
 * channel range [c0, c1)), so the caller may split the work over threads.
 */

int skelab_hg_embed_stats(const float *th, double *mean, double *m2, long N, long C, long T,
                          long c0, long c1) {
    if (N < 1 || C < 1 || T < 1) return 1;
    for (long c = c0; c < c1; c++) {
        double s = 0.0;
        for (long n = 0; n < N; n++) {
            const float *row = th + (n * C + c) * T;
            float r = 0.0f;
            for (long t = 0; t < T; t++) r += row[t];
            s += r;
        }
        const double mu = s / (double)(N * T);
        const float muf = (float)mu;
        double q = 0.0;
        for (long n = 0; n < N; n++) { /* two-pass: the squared deviations from the mean */
            const float *row = th + (n * C + c) * T;
            float r = 0.0f;
            for (long t = 0; t < T; t++) r += (row[t] - muf) * (row[t] - muf);
            q += r;
        }
        mean[c] = mu;
        m2[c] = q;
    }
    return 0;
}

int skelab_hg_embed_apply(const float *th, const float *scale, const float *shift, float *out,
                          long N, long M, long V, long E, long T, long e0, long e1) {
    if (N < 1 || M < 1 || V < 1 || E < 1 || T < 1) return 1;
    const long C = M * V * E;
    for (long n = 0; n < N; n++)
        for (long m = 0; m < M; m++)
            for (long e = e0; e < e1; e++) {
                float *dst = out + ((n * M + m) * E + e) * T * V;
                for (long v = 0; v < V; v++) {
                    const long c = (m * V + v) * E + e;
                    const float *src = th + (n * C + c) * T;
                    const float a = scale[c], b = shift[c];
                    for (long t = 0; t < T; t++) dst[t * V + v] = src[t] * a + b;
                }
            }
    return 0;
}

/* s1[c] = sum of g and s2[c] = sum of g * th over samples and frames, for the channels of
 * embedding channels [e0, e1) (zeroed here first) */
int skelab_hg_embed_sums(const float *g, const float *th, double *s1, double *s2, long N, long M,
                         long V, long E, long T, long e0, long e1) {
    if (N < 1 || M < 1 || V < 1 || E < 1 || T < 1) return 1;
    const long C = M * V * E;
    for (long m = 0; m < M; m++)
        for (long v = 0; v < V; v++)
            for (long e = e0; e < e1; e++) s1[(m * V + v) * E + e] = s2[(m * V + v) * E + e] = 0.0;
    for (long n = 0; n < N; n++)
        for (long m = 0; m < M; m++)
            for (long e = e0; e < e1; e++) {
                const float *gr = g + ((n * M + m) * E + e) * T * V;
                for (long v = 0; v < V; v++) {
                    const long c = (m * V + v) * E + e;
                    const float *x = th + (n * C + c) * T;
                    float a1 = 0.0f, a2 = 0.0f;
                    for (long t = 0; t < T; t++) {
                        const float gv = gr[t * V + v];
                        a1 += gv;
                        a2 += gv * x[t];
                    }
                    s1[c] += a1;
                    s2[c] += a2;
                }
            }
    return 0;
}

/* th := the pre-tanh gradient (1 - th^2) * k0 * (g - k1 - (th - k3) * k2), with k = (k0, k1,
 * k2, k3) per channel: BatchNorm's input gradient, then tanh's */
int skelab_hg_embed_backward(const float *g, float *th, const float *k, long N, long M, long V,
                             long E, long T, long e0, long e1) {
    if (N < 1 || M < 1 || V < 1 || E < 1 || T < 1) return 1;
    const long C = M * V * E;
    for (long n = 0; n < N; n++)
        for (long m = 0; m < M; m++)
            for (long e = e0; e < e1; e++) {
                const float *gr = g + ((n * M + m) * E + e) * T * V;
                for (long v = 0; v < V; v++) {
                    const long c = (m * V + v) * E + e;
                    float *x = th + (n * C + c) * T;
                    const float k0 = k[4 * c], k1 = k[4 * c + 1], k2 = k[4 * c + 2];
                    const float k3 = k[4 * c + 3];
                    for (long t = 0; t < T; t++) {
                        const float y = x[t];
                        x[t] = (1.0f - y * y) * k0 * (gr[t * V + v] - k1 - (y - k3) * k2);
                    }
                }
            }
    return 0;
}
