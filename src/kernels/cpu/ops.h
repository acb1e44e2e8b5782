// Element-wise and row-wise operations of the Gemma 4 forward pass, in f32.
#pragma once
#include <cstdint>

namespace lf {

// y = x / sqrt(mean(x^2) + eps) * w  (w may be null: no weight). x and y may alias. [n]
void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);

// tanh-approximated GELU, in place. [n]
void gelu_tanh(float* x, int64_t n);

// Gemma's GeGLU: gate[i] = gelu(gate[i]) * up[i]. [n]
void gelu_mul(float* gate, const float* up, int64_t n);

// x = cap * tanh(x / cap), in place. [n]
void softcap(float* x, int64_t n, float cap);

// NEOX-layout rotary embedding of one head in place: dim j pairs with j + head_dim/2.
// inv_freq: f32 [head_dim/2], the angle of pair i at position pos is pos * inv_freq[i].
void rope_neox(float* x, int head_dim, int pos, const float* inv_freq);

// a += s * b  [n]
void axpy(float* a, const float* b, float s, int64_t n);

}  // namespace lf
