// Internal contract between ops.cpp / attention.cpp and their SIMD versions (ops-avx512.cpp,
// ops-avx2.cpp). Not for use outside src/kernels and tests/kernels.
//
// Element-wise functions map each element by itself: the vector body and the (masked) tail run
// the same instructions, so an element's result does not depend on where it sits in the array
// or on the array's length - a token's activations do not depend on its batch. The scalar level
// uses the C library (std::tanh, std::exp) and is the reference; SIMD levels use polynomial
// exp/tanh accurate to a few ulp (tests state the tolerance).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"

namespace lf::cpu {

// Level-explicit versions of the public ops (isa must be supported).
void rms_norm_isa(cpu_isa isa, const float* x, const float* w, float* y, int64_t n, float eps);
void merge_partials_isa(cpu_isa isa, const attn_partial* parts, const float* acc, int n, int stride, int head_dim,
                        float* out);
void gelu_tanh_isa(cpu_isa isa, float* x, int64_t n);
void gelu_mul_isa(cpu_isa isa, float* gate, const float* up, int64_t n);
void softcap_isa(cpu_isa isa, float* x, int64_t n, float cap);
attn_partial attend_partial_isa(cpu_isa isa, const float* q, const kv_span* spans, int n_spans, int skip, int count,
                                int head_dim, float* acc);

void attend_partial_heads_isa(cpu_isa isa, const float* q, int nh, size_t q_stride, const kv_span* spans,
                              int n_spans, int skip, int count, int head_dim, float* acc, size_t acc_stride,
                              attn_partial* parts, size_t part_stride);
void attend_partial_rows_isa(cpu_isa isa, const attn_row* rows, int n_rows, int nh, const kv_span* spans, int n_spans,
                             int pos0, int head_dim);

// rms_norm's sum of squares is eight interleaved double sums (part[k] over elements i = k mod 8
// of the whole eights, in order; every product of two floats is exact in double, so a fused
// multiply-add gives the same sums). Every level combines them and the tail the same way:
inline float rms_scale_from_parts(const double part[8], const float* x, int64_t i8, int64_t n, float eps) {
    double ss = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    for (int64_t i = i8; i < n; ++i) ss += (double)x[i] * x[i];
    return 1.0f / std::sqrt(static_cast<float>(ss / n) + eps);
}

// merge_partials on every level: m = the largest partial maximum; then for each non-empty
// partial in order, c = exp(m_i - m) (the C library's exp), l += l_i * c, out += acc_i * c
// (a multiply, then an add: no fused multiply-add), and finally out /= l when l > 0.
inline float merge_max(const attn_partial* parts, int n, int stride) {
    float m = -std::numeric_limits<float>::infinity();
    for (int i = 0; i < n; ++i) m = std::max(m, parts[i * stride].m);
    return m;
}

#if defined(__x86_64__)
void rms_norm_avx512(const float* x, const float* w, float* y, int64_t n, float eps);
void rms_norm_avx2(const float* x, const float* w, float* y, int64_t n, float eps);
void merge_partials_avx512(const attn_partial* parts, const float* acc, int n, int stride, int head_dim, float* out);
void merge_partials_avx2(const attn_partial* parts, const float* acc, int n, int stride, int head_dim, float* out);
// Heads h0 .. h0 + nh - 1 of every row (the caller splits larger groups: nh <= 8 for AVX-512,
// nh of 1-4 or 8 for AVX2).
void attend_rows_avx512(const attn_row* rows, int n_rows, int h0, int nh, const kv_span* spans, int n_spans, int pos0,
                        int head_dim);
void attend_rows_avx2(const attn_row* rows, int n_rows, int h0, int nh, const kv_span* spans, int n_spans, int pos0,
                      int head_dim);
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

// The keys of one block of B positions starting at b0 (a multiple of B), lanes lo .. hi: the
// key and value rows of lanes lo .. hi from the spans (spans[0] starts at position pos0); the
// other lanes repeat lane lo's rows, so every lane can be read (their scores are masked).
inline void block_rows(const kv_span* spans, int n_spans, int pos0, int b0, int lo, int hi, int B,
                       const float** k_rows, const float** v_rows) {
    span_rows(spans, n_spans, b0 + lo - pos0, hi - lo + 1, k_rows + lo, v_rows + lo);
    for (int i = 0; i < B; ++i)
        if (i < lo || i > hi) {
            k_rows[i] = k_rows[lo];
            v_rows[i] = v_rows[lo];
        }
}

// The lanes of the block starting at b0 (B positions) that hold positions [first, last];
// false when the block holds none of them.
inline bool block_lanes(int b0, int B, int first, int last, int& lo, int& hi) {
    lo = std::max(first, b0) - b0;
    hi = std::min(last, b0 + B - 1) - b0;
    return lo <= hi;
}

// What the SIMD attention kernels keep per (row, head) of heads h0 .. h0 + NH - 1 (the running
// maximum and sum of the online softmax; the partial outputs live in each row's acc), and the
// positions some row needs. Starting zeroes the partial outputs.
template <int NH>
struct attn_rows_state {
    float m[k_attn_max_rows][NH];
    float l[k_attn_max_rows][NH];
    int first = std::numeric_limits<int>::max();  // the union of the rows' keys
    int last = std::numeric_limits<int>::min();

    attn_rows_state(const attn_row* rows, int n_rows, int h0, int head_dim) {
        for (int r = 0; r < n_rows; ++r) {
            for (int h = 0; h < NH; ++h) {
                std::fill_n(rows[r].acc + (h0 + h) * rows[r].acc_stride, head_dim, 0.0f);
                m[r][h] = -std::numeric_limits<float>::infinity();
                l[r][h] = 0.0f;
            }
            first = std::min(first, rows[r].first);
            last = std::max(last, rows[r].last);
        }
    }
    void finish(const attn_row* rows, int n_rows, int h0) const {
        for (int r = 0; r < n_rows; ++r)
            for (int h = 0; h < NH; ++h) rows[r].parts[(h0 + h) * rows[r].part_stride] = {m[r][h], l[r][h]};
    }
};

// The key and value rows of one block of B positions starting at b0 (a multiple of B), for the
// lanes some row needs (the others repeat one of them, so every lane can be read), and the next
// block's rows, to be requested while this one is scored (nothing keeps them cached between
// steps).
template <int B>
struct attn_block {
    const float* k_rows[B];
    const float* v_rows[B];
    const float* next_k[B];
    const float* next_v[B];
    int next_lo = 0, next_hi = -1;  // lanes of next_k / next_v to request

    attn_block(const kv_span* spans, int n_spans, int pos0, int b0, int first, int last) {
        int lo, hi;
        block_lanes(b0, B, first, last, lo, hi);
        block_rows(spans, n_spans, pos0, b0, lo, hi, B, k_rows, v_rows);
        if (b0 + B <= last) {
            block_lanes(b0 + B, B, first, last, next_lo, next_hi);
            block_rows(spans, n_spans, pos0, b0 + B, next_lo, next_hi, B, next_k, next_v);
        }
    }
};

// Requests every cache line of one key row and one value row (head_dim floats each), with
// __builtin_prefetch's locality: 3 (prefetcht0) into L1, 1 (prefetcht2) into L2, which leaves L1
// to the block being worked on (with head_dim 512 a block of 8 keys and values fills a 32 KiB
// L1 by itself).
template <int Locality>
inline void prefetch_row_pair(const float* k, const float* v, int head_dim) {
    for (int d = 0; d < head_dim; d += 16) {
        __builtin_prefetch(k + d, 0, Locality);
        __builtin_prefetch(v + d, 0, Locality);
    }
}

}  // namespace lf::cpu
