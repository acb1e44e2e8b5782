// Internal contract between ops.cpp / attention.cpp and their SIMD versions (ops-avx512.cpp,
// ops-avx2.cpp). Not for use outside src/kernels and tests/kernels.
//
// Element-wise functions map each element by itself: the vector body and the (masked) tail run
// the same instructions, so an element's result does not depend on where it sits in the array
// or on the array's length - a token's activations do not depend on its batch. The scalar level
// uses the C library (std::tanh, std::exp) and is the reference; SIMD levels use polynomial
// exp/tanh accurate to a few ulp (tests state the tolerance).
#pragma once
#include <cstdint>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"

namespace lf::cpu {

// Level-explicit versions of the public ops (isa must be supported).
void gelu_tanh_isa(cpu_isa isa, float* x, int64_t n);
void gelu_mul_isa(cpu_isa isa, float* gate, const float* up, int64_t n);
void softcap_isa(cpu_isa isa, float* x, int64_t n, float cap);
attn_partial attend_partial_isa(cpu_isa isa, const float* q, const kv_span* spans, int n_spans, int skip, int count,
                                int head_dim, float* acc);

void attend_partial_heads_isa(cpu_isa isa, const float* q, int nh, size_t q_stride, const kv_span* spans,
                              int n_spans, int skip, int count, int head_dim, float* acc, size_t acc_stride,
                              attn_partial* parts, size_t part_stride);

#if defined(__x86_64__)
// nh <= 8 (the caller splits larger groups).
void attend_heads_avx512(const float* q, int nh, size_t q_stride, const kv_span* spans, int n_spans, int skip,
                         int count, int head_dim, float* acc, size_t acc_stride, attn_partial* parts,
                         size_t part_stride);
void attend_heads_avx2(const float* q, int nh, size_t q_stride, const kv_span* spans, int n_spans, int skip,
                       int count, int head_dim, float* acc, size_t acc_stride, attn_partial* parts,
                       size_t part_stride);
void gelu_tanh_avx512(float* x, int64_t n);
void gelu_mul_avx512(float* gate, const float* up, int64_t n);
void softcap_avx512(float* x, int64_t n, float cap);
void gelu_tanh_avx2(float* x, int64_t n);
void gelu_mul_avx2(float* gate, const float* up, int64_t n);
void softcap_avx2(float* x, int64_t n, float cap);
#endif

// The key/value rows of positions [skip, skip + count) of the spans (in span order), written
// to k_rows / v_rows (at most count entries each).
inline void span_rows(const kv_span* spans, int n_spans, int skip, int count, const float** k_rows,
                      const float** v_rows) {
    int out = 0;
    for (int si = 0; si < n_spans && out < count; ++si) {
        const kv_span& sp = spans[si];
        if (skip >= sp.n) {
            skip -= sp.n;
            continue;
        }
        for (int j = skip; j < sp.n && out < count; ++j, ++out) {
            k_rows[out] = sp.k + static_cast<size_t>(j) * sp.stride;
            v_rows[out] = sp.v + static_cast<size_t>(j) * sp.stride;
        }
        skip = 0;
    }
}

// Requests every cache line of one key row and one value row (head_dim floats each).
inline void prefetch_row_pair(const float* k, const float* v, int head_dim) {
    for (int d = 0; d < head_dim; d += 16) {
        __builtin_prefetch(k + d, 0, 3);
        __builtin_prefetch(v + d, 0, 3);
    }
}

}  // namespace lf::cpu
