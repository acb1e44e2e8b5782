// Attention kernels: the scalar reference here, SIMD versions in ops-avx512.cpp / ops-avx2.cpp
// chosen by the matmul level. Each row's result depends only on its own (queries, key range), so
// splitting keys into fixed chunks keeps rows independent of their batch.
#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops-impl.h"

namespace lf {

namespace {

// Dot product in four independent accumulators so the compiler can keep several lanes busy.
inline float dot(const float* a, const float* b, int n) {
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    int i = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; ++i) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
}

}  // namespace

namespace {

attn_partial attend_partial_scalar(const float* q, const kv_span* spans, int n_spans, int skip, int count,
                                   int head_dim, float* acc) {
    for (int d = 0; d < head_dim; ++d) acc[d] = 0.f;
    float m = -std::numeric_limits<float>::infinity();
    float l = 0.f;
    for (int si = 0; si < n_spans && count > 0; ++si) {
        const kv_span& sp = spans[si];
        if (skip >= sp.n) {
            skip -= sp.n;
            continue;
        }
        int j_end = std::min(sp.n, skip + count);
        for (int j = skip; j < j_end; ++j) {
            const float* k = sp.k + j * sp.stride;
            const float* v = sp.v + j * sp.stride;
            float s = dot(q, k, head_dim);
            if (s > m) {
                // New maximum: rescale what has been accumulated so far.
                float c = std::exp(m - s);
                l *= c;
                for (int d = 0; d < head_dim; ++d) acc[d] *= c;
                m = s;
            }
            float p = std::exp(s - m);
            l += p;
            for (int d = 0; d < head_dim; ++d) acc[d] += p * v[d];
        }
        count -= j_end - skip;
        skip = 0;
    }
    return {m, l};
}

}  // namespace

namespace cpu {

void attend_partial_rows_isa(cpu_isa isa, const attn_row* rows, int n_rows, int nh, const kv_span* spans, int n_spans,
                             int pos0, int head_dim) {
    LF_CHECK(n_rows >= 0 && n_rows <= k_attn_max_rows);
    // Groups of at most 8 heads per pass over the keys: a fixed split, so each head's work is
    // always the same.
#if defined(__x86_64__)
    if (isa == cpu_isa::avx512 && head_dim % 16 == 0) {
        for (int h0 = 0; h0 < nh; h0 += 8)
            attend_rows_avx512(rows, n_rows, h0, std::min(8, nh - h0), spans, n_spans, pos0, head_dim);
        return;
    }
    if ((isa == cpu_isa::avx512 || isa == cpu_isa::avx2) && head_dim % 8 == 0) {
        // Eight heads at a time where there are eight, otherwise up to four.
        for (int h0 = 0; h0 < nh;) {
            const int n = nh - h0 >= 8 ? 8 : std::min(4, nh - h0);
            attend_rows_avx2(rows, n_rows, h0, n, spans, n_spans, pos0, head_dim);
            h0 += n;
        }
        return;
    }
#endif
    // The scalar level takes one key at a time, so it has no blocks to align.
    for (int r = 0; r < n_rows; ++r) {
        const attn_row& row = rows[r];
        for (int g = 0; g < nh; ++g)
            row.parts[g * row.part_stride] =
                attend_partial_scalar(row.q + g * row.q_stride, spans, n_spans, row.first - pos0,
                                      row.last - row.first + 1, head_dim, row.acc + g * row.acc_stride);
    }
}

void attend_partial_heads_isa(cpu_isa isa, const float* q, int nh, size_t q_stride, const kv_span* spans,
                              int n_spans, int skip, int count, int head_dim, float* acc, size_t acc_stride,
                              attn_partial* parts, size_t part_stride) {
    const attn_row row{q, q_stride, acc, acc_stride, parts, part_stride, skip, skip + count - 1};
    attend_partial_rows_isa(isa, &row, 1, nh, spans, n_spans, 0, head_dim);
}

void merge_partials_isa(cpu_isa isa, const attn_partial* parts, const float* acc, int n, int stride, int head_dim,
                        float* out) {
#if defined(__x86_64__)
    if (isa == cpu_isa::avx512 && head_dim % 16 == 0) return merge_partials_avx512(parts, acc, n, stride, head_dim, out);
    if ((isa == cpu_isa::avx512 || isa == cpu_isa::avx2) && head_dim % 8 == 0)
        return merge_partials_avx2(parts, acc, n, stride, head_dim, out);
#endif
    const float m = merge_max(parts, n, stride);
    for (int d = 0; d < head_dim; ++d) out[d] = 0.f;
    float l = 0.f;
    for (int i = 0; i < n; ++i) {
        const attn_partial& p = parts[i * stride];
        if (p.l == 0.f) continue;
        const float c = std::exp(p.m - m);
        l += p.l * c;
        const float* a = acc + static_cast<size_t>(i) * stride * head_dim;
        for (int d = 0; d < head_dim; ++d) out[d] += a[d] * c;
    }
    if (l > 0.f)
        for (int d = 0; d < head_dim; ++d) out[d] /= l;
}

// One head is a group of one: the SIMD levels have a single kernel for any number of heads.
attn_partial attend_partial_isa(cpu_isa isa, const float* q, const kv_span* spans, int n_spans, int skip, int count,
                                int head_dim, float* acc) {
    attn_partial p;
    attend_partial_heads_isa(isa, q, 1, 0, spans, n_spans, skip, count, head_dim, acc, 0, &p, 1);
    return p;
}

}  // namespace cpu

void attend_partial_rows(const attn_row* rows, int n_rows, int nh, const kv_span* spans, int n_spans, int pos0,
                         int head_dim) {
    cpu::attend_partial_rows_isa(active_isa(), rows, n_rows, nh, spans, n_spans, pos0, head_dim);
}

void attend_partial_heads(const float* q, int nh, size_t q_stride, const kv_span* spans, int n_spans, int skip,
                          int count, int head_dim, float* acc, size_t acc_stride, attn_partial* parts,
                          size_t part_stride) {
    cpu::attend_partial_heads_isa(active_isa(), q, nh, q_stride, spans, n_spans, skip, count, head_dim, acc, acc_stride,
                                  parts, part_stride);
}

void merge_partials(const attn_partial* parts, const float* acc, int n, int stride, int head_dim, float* out) {
    cpu::merge_partials_isa(active_isa(), parts, acc, n, stride, head_dim, out);
}

}  // namespace lf
