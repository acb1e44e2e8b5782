// Element-wise and row-wise operations of the Gemma 4 forward pass, in f32. Element-wise ops give
// each element a result that depends on its value only (not on its index or the array length),
// so a token's activations do not depend on the batch it is in.
#pragma once
#include <cstdint>
#include <vector>

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

// The same rotation with the angles' cosines and sines computed once per position and shared by
// every head: cs = f32 [cos of head_dim/2 pairs, sin of head_dim/2 pairs]. Bit-identical to
// rope_neox.
void rope_angles(int head_dim, int pos, const float* inv_freq, float* cs);

// RoPE inverse frequencies f32 [head_dim / 2]: base^(-2i / head_dim), formed in double and
// rounded to f32 as the reference does; with factors (proportional RoPE, f32 [head_dim / 2]) each
// is divided by its factor, and a factor >= 1e29 marks a dimension that does not rotate (0).
std::vector<float> rope_inv_freq(float base, int head_dim, const std::vector<float>* factors);
void rope_neox_cs(float* x, int head_dim, const float* inv_freq, const float* cs);

// a += s * b  [n]
void axpy(float* a, const float* b, float s, int64_t n);

}  // namespace lf
