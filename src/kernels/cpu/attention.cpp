#include "kernels/cpu/attention.h"

#include <cmath>
#include <limits>

namespace lf {

void attend_one_head(const float* q, const kv_span* spans, int n_spans, int head_dim, float* out) {
    for (int d = 0; d < head_dim; ++d) out[d] = 0.f;
    float m = -std::numeric_limits<float>::infinity();
    float l = 0.f;
    for (int si = 0; si < n_spans; ++si) {
        const kv_span& sp = spans[si];
        for (int j = 0; j < sp.n; ++j) {
            const float* k = sp.k + j * sp.stride;
            const float* v = sp.v + j * sp.stride;
            float s = 0.f;
            for (int d = 0; d < head_dim; ++d) s += q[d] * k[d];
            if (s > m) {
                // New maximum: rescale what has been accumulated so far.
                float c = std::exp(m - s);
                l *= c;
                for (int d = 0; d < head_dim; ++d) out[d] *= c;
                m = s;
            }
            float p = std::exp(s - m);
            l += p;
            for (int d = 0; d < head_dim; ++d) out[d] += p * v[d];
        }
    }
    if (l > 0.f) {
        float inv = 1.f / l;
        for (int d = 0; d < head_dim; ++d) out[d] *= inv;
    }
}

}  // namespace lf
