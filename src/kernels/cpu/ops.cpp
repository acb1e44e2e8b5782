#include "kernels/cpu/ops.h"

#include <cmath>

namespace lf {

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
    double ss = 0;  // double so long rows do not lose precision
    for (int64_t i = 0; i < n; ++i) ss += (double)x[i] * x[i];
    float scale = 1.0f / std::sqrt(static_cast<float>(ss / n) + eps);
    if (w)
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
    else
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
}

static inline float gelu1(float x) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

void gelu_tanh(float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) x[i] = gelu1(x[i]);
}

void gelu_mul(float* gate, const float* up, int64_t n) {
    for (int64_t i = 0; i < n; ++i) gate[i] = gelu1(gate[i]) * up[i];
}

void softcap(float* x, int64_t n, float cap) {
    for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

void rope_neox(float* x, int head_dim, int pos, const float* inv_freq) {
    int half = head_dim / 2;
    for (int i = 0; i < half; ++i) {
        if (inv_freq[i] == 0.0f) continue;  // pass-through dims of proportional RoPE
        // The angle is formed in f32 as the reference implementation does, then evaluated exactly.
        float angle = static_cast<float>(pos) * inv_freq[i];
        float c = static_cast<float>(std::cos(static_cast<double>(angle)));
        float s = static_cast<float>(std::sin(static_cast<double>(angle)));
        float a = x[i], b = x[i + half];
        x[i] = a * c - b * s;
        x[i + half] = b * c + a * s;
    }
}

void axpy(float* a, const float* b, float s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) a[i] += s * b[i];
}

}  // namespace lf
