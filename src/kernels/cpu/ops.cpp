// Element-wise and row-wise ops. The scalar versions here are the reference (C library tanh);
// GELU and soft-cap run the SIMD versions of the matmul level (ops-avx512.cpp, ops-avx2.cpp),
// which map each element independently of its neighbours (see ops-impl.h).
#include "kernels/cpu/ops.h"

#include <cmath>

#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops-impl.h"

namespace lf {

namespace cpu {

void rms_norm_isa(cpu_isa isa, const float* x, const float* w, float* y, int64_t n, float eps) {
#if defined(__x86_64__)
    if (isa == cpu_isa::avx512) return rms_norm_avx512(x, w, y, n, eps);
    if (isa == cpu_isa::avx2) return rms_norm_avx2(x, w, y, n, eps);
#endif
    // Sum of squares in double, so long rows do not lose precision, over eight interleaved
    // partial sums: one running sum would be a chain of dependent adds that the vector units
    // cannot overlap (it cost more than the rest of the row's work).
    double part[8] = {};
    int64_t i8 = 0;
    for (; i8 + 8 <= n; i8 += 8)
        for (int k = 0; k < 8; ++k) part[k] += (double)x[i8 + k] * x[i8 + k];
    const float scale = rms_scale_from_parts(part, x, i8, n, eps);
    if (w)
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
    else
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
}

}  // namespace cpu

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
    cpu::rms_norm_isa(active_isa(), x, w, y, n, eps);
}

static inline float gelu1(float x) {
    const float k = 0.7978845608028654f;  // sqrt(2/pi)
    return 0.5f * x * (1.0f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

namespace cpu {

void gelu_tanh_isa(cpu_isa isa, float* x, int64_t n) {
#if defined(__x86_64__)
    if (isa == cpu_isa::avx512) return gelu_tanh_avx512(x, n);
    if (isa == cpu_isa::avx2) return gelu_tanh_avx2(x, n);
#endif
    for (int64_t i = 0; i < n; ++i) x[i] = gelu1(x[i]);
}

void gelu_mul_isa(cpu_isa isa, float* gate, const float* up, int64_t n) {
#if defined(__x86_64__)
    if (isa == cpu_isa::avx512) return gelu_mul_avx512(gate, up, n);
    if (isa == cpu_isa::avx2) return gelu_mul_avx2(gate, up, n);
#endif
    for (int64_t i = 0; i < n; ++i) gate[i] = gelu1(gate[i]) * up[i];
}

void softcap_isa(cpu_isa isa, float* x, int64_t n, float cap) {
#if defined(__x86_64__)
    if (isa == cpu_isa::avx512) return softcap_avx512(x, n, cap);
    if (isa == cpu_isa::avx2) return softcap_avx2(x, n, cap);
#endif
    for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

}  // namespace cpu

void gelu_tanh(float* x, int64_t n) { cpu::gelu_tanh_isa(active_isa(), x, n); }

void gelu_mul(float* gate, const float* up, int64_t n) { cpu::gelu_mul_isa(active_isa(), gate, up, n); }

void softcap(float* x, int64_t n, float cap) { cpu::softcap_isa(active_isa(), x, n, cap); }

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

std::vector<float> rope_inv_freq(float base, int head_dim, const std::vector<float>* factors) {
    std::vector<float> inv(head_dim / 2);
    for (int i = 0; i < head_dim / 2; ++i) {
        float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
        float f = static_cast<float>(1.0 / std::pow(static_cast<double>(base), static_cast<double>(exponent)));
        if (factors) f = (*factors)[i] >= 1e29f ? 0.0f : f / (*factors)[i];
        inv[i] = f;
    }
    return inv;
}

void rope_angles(int head_dim, int pos, const float* inv_freq, float* cs) {
    int half = head_dim / 2;
    for (int i = 0; i < half; ++i) {
        float angle = static_cast<float>(pos) * inv_freq[i];
        cs[i] = static_cast<float>(std::cos(static_cast<double>(angle)));
        cs[half + i] = static_cast<float>(std::sin(static_cast<double>(angle)));
    }
}

void rope_neox_cs(float* x, int head_dim, const float* inv_freq, const float* cs) {
    int half = head_dim / 2;
    for (int i = 0; i < half; ++i) {
        if (inv_freq[i] == 0.0f) continue;
        float c = cs[i], s = cs[half + i];
        float a = x[i], b = x[i + half];
        x[i] = a * c - b * s;
        x[i + half] = b * c + a * s;
    }
}

void axpy(float* a, const float* b, float s, int64_t n) {
    for (int64_t i = 0; i < n; ++i) a[i] += s * b[i];
}

}  // namespace lf
