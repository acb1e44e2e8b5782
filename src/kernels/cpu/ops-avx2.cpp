// AVX2+FMA element-wise ops (GELU, soft-cap) and attention: the AVX-512 file's algorithms
// (see ops-avx512.cpp) eight lanes wide. exp builds its power of two in the exponent bits, so
// its input is clamped to the range where that power is a normal float. Tails are masked
// loads/stores, so every element goes through the same instructions wherever it sits.
#include "kernels/cpu/ops-impl.h"

#include "core/error.h"
#include "kernels/cpu/matmul-impl.h"  // LF_UNROLL

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#define LF_AVX2 __attribute__((target("avx2,fma,f16c")))
#define LF_AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline

namespace lf::cpu {
namespace {

LF_AVX2_INLINE __m256 exp8(__m256 x) {
    // e^-87.3 and e^88.3 keep 2^fx normal; NaN stays NaN (max/min return their second operand
    // when one is NaN).
    x = _mm256_min_ps(_mm256_set1_ps(88.3f), _mm256_max_ps(_mm256_set1_ps(-87.3f), x));
    const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 y = _mm256_set1_ps(1.9875691500e-4f);
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_fmadd_ps(y, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fx), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

LF_AVX2_INLINE __m256 tanh8(__m256 x) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 a = _mm256_andnot_ps(sign, x);
    const __m256 z = _mm256_mul_ps(x, x);
    __m256 p = _mm256_set1_ps(-5.70498872745e-3f);
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(2.06390887954e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-5.37397155531e-2f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(1.33314422036e-1f));
    p = _mm256_fmadd_ps(p, z, _mm256_set1_ps(-3.33332819422e-1f));
    const __m256 small = _mm256_fmadd_ps(_mm256_mul_ps(p, z), x, x);
    const __m256 a9 = _mm256_min_ps(_mm256_set1_ps(9.0f), a);
    const __m256 e = exp8(_mm256_add_ps(a9, a9));
    __m256 large = _mm256_sub_ps(_mm256_set1_ps(1.0f), _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
    large = _mm256_or_ps(large, _mm256_and_ps(x, sign));
    return _mm256_blendv_ps(large, small, _mm256_cmp_ps(a, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

LF_AVX2_INLINE __m256 gelu8(__m256 x) {
    const __m256 x2 = _mm256_mul_ps(x, x);
    const __m256 u = _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f), x),
                                   _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x2, _mm256_set1_ps(1.0f)));
    const __m256 e = exp8(_mm256_mul_ps(_mm256_set1_ps(-2.0f), u));
    return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

LF_AVX2_INLINE __m256i tail_mask(int64_t left) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

LF_AVX2_INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

}  // namespace

LF_AVX2 void gelu_tanh_avx2(float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, gelu8(_mm256_loadu_ps(x + i)));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(x + i, m, gelu8(_mm256_maskload_ps(x + i, m)));
    }
}

LF_AVX2 void gelu_mul_avx2(float* gate, const float* up, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(gelu8(_mm256_loadu_ps(gate + i)), _mm256_loadu_ps(up + i)));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(gate + i, m, _mm256_mul_ps(gelu8(_mm256_maskload_ps(gate + i, m)), _mm256_maskload_ps(up + i, m)));
    }
}

LF_AVX2 void rms_norm_avx2(const float* x, const float* w, float* y, int64_t n, float eps) {
    // Lanes of lo / hi are part[0..3] / part[4..7] of the scalar level: the same products (exact
    // in double) added in order.
    __m256d lo = _mm256_setzero_pd(), hi = _mm256_setzero_pd();
    int64_t i8 = 0;
    for (; i8 + 8 <= n; i8 += 8) {
        const __m256d a = _mm256_cvtps_pd(_mm_loadu_ps(x + i8)), b = _mm256_cvtps_pd(_mm_loadu_ps(x + i8 + 4));
        lo = _mm256_fmadd_pd(a, a, lo);
        hi = _mm256_fmadd_pd(b, b, hi);
    }
    alignas(32) double part[8];
    _mm256_store_pd(part, lo);
    _mm256_store_pd(part + 4, hi);
    const __m256 scale = _mm256_set1_ps(rms_scale_from_parts(part, x, i8, n, eps));
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), scale);
        _mm256_storeu_ps(y + i, w ? _mm256_mul_ps(v, _mm256_loadu_ps(w + i)) : v);
    }
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        const __m256 v = _mm256_mul_ps(_mm256_maskload_ps(x + i, m), scale);
        _mm256_maskstore_ps(y + i, m, w ? _mm256_mul_ps(v, _mm256_maskload_ps(w + i, m)) : v);
    }
}

LF_AVX2 void merge_partials_avx2(const attn_partial* parts, const float* acc, int n, int stride, int head_dim,
                                 float* out) {
    const float m = merge_max(parts, n, stride);
    for (int d = 0; d < head_dim; d += 8) _mm256_storeu_ps(out + d, _mm256_setzero_ps());
    float l = 0.f;
    for (int i = 0; i < n; ++i) {
        const attn_partial& p = parts[i * stride];
        if (p.l == 0.f) continue;
        const float c = std::exp(p.m - m);
        l += p.l * c;
        const __m256 cv = _mm256_set1_ps(c);
        const float* a = acc + static_cast<size_t>(i) * stride * head_dim;
        for (int d = 0; d < head_dim; d += 8)
            _mm256_storeu_ps(out + d, _mm256_add_ps(_mm256_loadu_ps(out + d), _mm256_mul_ps(_mm256_loadu_ps(a + d), cv)));
    }
    if (l > 0.f) {
        const __m256 lv = _mm256_set1_ps(l);
        for (int d = 0; d < head_dim; d += 8) _mm256_storeu_ps(out + d, _mm256_div_ps(_mm256_loadu_ps(out + d), lv));
    }
}

LF_AVX2 void softcap_avx2(float* x, int64_t n, float cap) {
    const __m256 c = _mm256_set1_ps(cap);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(c, tanh8(_mm256_div_ps(_mm256_loadu_ps(x + i), c))));
    if (i < n) {
        const __m256i m = tail_mask(n - i);
        _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(c, tanh8(_mm256_div_ps(_mm256_maskload_ps(x + i, m), c))));
    }
}

namespace {

// Scores of K consecutive keys (k_rows[0 .. K-1]) for NH heads of one row into s[h][i0 + j],
// raising bm[h] to their maximum. Each query chunk loaded serves all K keys (NH + K loads per
// K * NH FMAs); every key's sum takes the same sequence whatever K is.
template <int NH, int K>
LF_AVX2_INLINE void score_keys(const float* q, size_t q_stride, const float* const* k_rows, int nd,
                               float (*s)[8], int i0, float* bm) {
    __m256 a[K][NH];
    LF_UNROLL
    for (int j = 0; j < K; ++j)
        LF_UNROLL
        for (int h = 0; h < NH; ++h) a[j][h] = _mm256_setzero_ps();
    for (int dc = 0; dc < nd; ++dc) {
        __m256 k[K];
        LF_UNROLL
        for (int j = 0; j < K; ++j) k[j] = _mm256_loadu_ps(k_rows[j] + 8 * dc);
        LF_UNROLL
        for (int h = 0; h < NH; ++h) {
            __m256 qh = _mm256_loadu_ps(q + h * q_stride + 8 * dc);
            opaque(qh);  // one load for the K keys: GCC would fold one into each FMA
            LF_UNROLL
            for (int j = 0; j < K; ++j) a[j][h] = _mm256_fmadd_ps(qh, k[j], a[j][h]);
        }
    }
    LF_UNROLL
    for (int h = 0; h < NH; ++h)
        LF_UNROLL
        for (int j = 0; j < K; ++j) {
            s[h][i0 + j] = hsum(a[j][h]);
            bm[h] = std::max(bm[h], s[h][i0 + j]);
        }
}

// acc (head h's at acc + h * acc_stride) = acc * c[h] + sum over keys lo..hi of s[h][i] v_i, for
// the C value chunks of 8 from dc (the AVX-512 file's value_tile, 8 lanes wide). Each weight
// broadcast serves all C chunks; every output element takes the same sequence whatever C is.
template <int NH, int C>
LF_AVX2_INLINE void value_tile(float* acc, size_t acc_stride, int dc, const float* c,
                                      const float* const* v_rows, int lo, int hi, const float (*s)[8]) {
    __m256 a[C][NH];
    LF_UNROLL
    for (int h = 0; h < NH; ++h)
        LF_UNROLL
        for (int j = 0; j < C; ++j)
            a[j][h] = _mm256_mul_ps(_mm256_loadu_ps(acc + h * acc_stride + 8 * (dc + j)), _mm256_set1_ps(c[h]));
    for (int i = lo; i <= hi; ++i) {
        __m256 v[C];
        LF_UNROLL
        for (int j = 0; j < C; ++j) v[j] = _mm256_loadu_ps(v_rows[i] + 8 * (dc + j));
        LF_UNROLL
        for (int h = 0; h < NH; ++h) {
            const __m256 p = _mm256_set1_ps(s[h][i]);
            LF_UNROLL
            for (int j = 0; j < C; ++j) a[j][h] = _mm256_fmadd_ps(p, v[j], a[j][h]);
        }
    }
    LF_UNROLL
    for (int h = 0; h < NH; ++h)
        LF_UNROLL
        for (int j = 0; j < C; ++j) _mm256_storeu_ps(acc + h * acc_stride + 8 * (dc + j), a[j][h]);
}

// Heads h0 .. h0 + G * NH - 1 of every row against the same keys, in G groups of NH heads.
// Blocks of 8 positions start at multiples of 8; a block's key and value rows are loaded once
// from memory and then serve every row and head group whose keys it holds, while they are in
// L1. The next block is requested into L2 a share at a time, before each (row, head group)
// step of this one: requested all at once the kernel ran as without requests, and into L1 the
// next block pushed this one out (BENCHMARKS.md, "The attention's keys and values requested
// ahead").
// A row's scores, softmax and value sums use only the lanes of its own keys, always in the
// same lanes of the same blocks, so each head's sequence depends neither on NH, G nor on the
// other rows (one head of one row is a group of one).
template <int NH, int G>
LF_AVX2 void attend_rows(const attn_row* rows, int n_rows, int h0, const kv_span* spans, int n_spans, int pos0,
                         int head_dim) {
    constexpr int B = 8;  // keys per block
    const int nd = head_dim / 8;
    attn_rows_state<NH * G> st(rows, n_rows, h0, head_dim);
    for (int b0 = st.first - st.first % B; b0 <= st.last; b0 += B) {
        const attn_block<B> blk(spans, n_spans, pos0, b0, st.first, st.last);
        int n_steps = 0;  // (row, head group) steps that use this block
        for (int r = 0; r < n_rows; ++r) {
            int lo, hi;
            if (block_lanes(b0, B, rows[r].first, rows[r].last, lo, hi)) n_steps += G;
        }
        const int n_next = blk.next_hi - blk.next_lo + 1;  // next block's keys to request (0 if none)
        int step = 0, requested = 0;
        for (int r = 0; r < n_rows; ++r) {
            int lo, hi;
            if (!block_lanes(b0, B, rows[r].first, rows[r].last, lo, hi)) continue;
            const attn_row row = rows[r];  // a copy: its fields stay in registers
            const __m256i valid = _mm256_andnot_si256(tail_mask(lo), tail_mask(hi + 1));
            for (int g = 0; g < G; ++g) {
                for (const int upto = n_next * ++step / n_steps; requested < upto; ++requested)
                    prefetch_row_pair<1>(blk.next_k[blk.next_lo + requested], blk.next_v[blk.next_lo + requested],
                                         head_dim);
                const int hg = h0 + g * NH;  // the group's first head
                float* const m_run = st.m[r] + g * NH;
                float* const l_run = st.l[r] + g * NH;
                const float* q = row.q + hg * row.q_stride;
                alignas(32) float s[NH][B];
                float bm[NH];
                for (int h = 0; h < NH; ++h) bm[h] = -std::numeric_limits<float>::infinity();
                // Three keys per pass (twelve accumulators: 7 loads per 12 FMAs, where pairs of
                // keys took 6 per 8), then the last two or one.
                int i = lo;
                for (; i + 2 <= hi; i += 3) score_keys<NH, 3>(q, row.q_stride, blk.k_rows + i, nd, s, i, bm);
                if (i + 1 == hi) score_keys<NH, 2>(q, row.q_stride, blk.k_rows + i, nd, s, i, bm);
                if (i == hi) score_keys<NH, 1>(q, row.q_stride, blk.k_rows + i, nd, s, i, bm);
                float c[NH];
                LF_UNROLL
                for (int h = 0; h < NH; ++h) {
                    for (int i = 0; i < B; ++i)
                        if (i < lo || i > hi) s[h][i] = -std::numeric_limits<float>::infinity();
                    const float m_new = std::max(m_run[h], bm[h]);
                    c[h] = m_run[h] == -std::numeric_limits<float>::infinity()
                               ? 0.0f
                               : _mm256_cvtss_f32(exp8(_mm256_set1_ps(m_run[h] - m_new)));
                    const __m256 p = _mm256_and_ps(_mm256_castsi256_ps(valid),
                                                   exp8(_mm256_sub_ps(_mm256_load_ps(s[h]), _mm256_set1_ps(m_new))));
                    _mm256_store_ps(s[h], p);
                    l_run[h] = l_run[h] * c[h] + hsum(p);
                    m_run[h] = m_new;
                }
                float* acc = row.acc + hg * row.acc_stride;
                // Three value chunks per pass, as the keys above, then the last two or one.
                int dc = 0;
                for (; dc + 3 <= nd; dc += 3) value_tile<NH, 3>(acc, row.acc_stride, dc, c, blk.v_rows, lo, hi, s);
                if (dc + 2 == nd) value_tile<NH, 2>(acc, row.acc_stride, dc, c, blk.v_rows, lo, hi, s);
                if (dc + 1 == nd) value_tile<NH, 1>(acc, row.acc_stride, dc, c, blk.v_rows, lo, hi, s);
            }
        }
    }
    st.finish(rows, n_rows, h0);
}

}  // namespace

void attend_rows_avx2(const attn_row* rows, int n_rows, int h0, int nh, const kv_span* spans, int n_spans, int pos0,
                      int head_dim) {
    switch (nh) {
        case 1: return attend_rows<1, 1>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        case 2: return attend_rows<2, 1>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        case 3: return attend_rows<3, 1>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        case 4: return attend_rows<4, 1>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        case 8: return attend_rows<4, 2>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        default: LF_CHECK(!"attend_rows_avx2 takes 1-4 or 8 heads");
    }
}

}  // namespace lf::cpu
#endif  // __x86_64__
