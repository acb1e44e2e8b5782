// AVX-512 element-wise ops (GELU, soft-cap) and attention. Every function carries its own
// target attribute; ops.cpp and attention.cpp call them only when the matmul level is avx512.
//
// exp is Cephes' expf (range reduction by ln 2 in two parts, degree-5 polynomial, scalef for
// the power of two), tanh is Cephes' tanhf (odd polynomial below 0.625, 1 - 2/(e^2x + 1)
// above): a few ulp each. Tails are masked, so every element goes through the same
// instructions wherever it sits (see ops-impl.h).
// Attention: keys in blocks of 16 positions counted from the start of the task's range, so the
// blocks depend only on the row's own key range; per block, 16 scores, one running-max update,
// one vector exp, then the value rows weighted into the accumulator.
#include "kernels/cpu/ops-impl.h"

#include "kernels/cpu/matmul-impl.h"  // LF_UNROLL

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define LF_AVX512_TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c"
#define LF_AVX512 __attribute__((target(LF_AVX512_TARGET)))
#define LF_AVX512_INLINE __attribute__((target(LF_AVX512_TARGET), always_inline)) inline

namespace lf::cpu {
namespace {

LF_AVX512_INLINE __m512 exp16(__m512 x) {
    // Clamping keeps x * log2(e) finite; scalef turns what is left into 0 or inf. NaN stays NaN
    // (max/min return their second operand when one is NaN).
    x = _mm512_min_ps(_mm512_set1_ps(150.0f), _mm512_max_ps(_mm512_set1_ps(-150.0f), x));
    const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 y = _mm512_set1_ps(1.9875691500e-4f);
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.3981999507e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(8.3334519073e-3f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(4.1665795894e-2f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(1.6666665459e-1f));
    y = _mm512_fmadd_ps(y, r, _mm512_set1_ps(5.0000001201e-1f));
    y = _mm512_fmadd_ps(y, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(y, fx);
}

LF_AVX512_INLINE __m512 tanh16(__m512 x) {
    const __m512 a = _mm512_abs_ps(x);
    const __m512 z = _mm512_mul_ps(x, x);
    __m512 p = _mm512_set1_ps(-5.70498872745e-3f);
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(2.06390887954e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-5.37397155531e-2f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(1.33314422036e-1f));
    p = _mm512_fmadd_ps(p, z, _mm512_set1_ps(-3.33332819422e-1f));
    const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, z), x, x);
    // 1 - 2 / (e^(2|x|) + 1): e^18 already rounds the result to 1.
    const __m512 e = exp16(_mm512_add_ps(_mm512_min_ps(_mm512_set1_ps(9.0f), a), _mm512_min_ps(_mm512_set1_ps(9.0f), a)));
    __m512 large = _mm512_sub_ps(_mm512_set1_ps(1.0f), _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
    large = _mm512_or_ps(large, _mm512_and_ps(x, _mm512_set1_ps(-0.0f)));  // sign of x
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(a, _mm512_set1_ps(0.625f), _CMP_LT_OQ), large, small);
}

// gelu(x) = 0.5 x (1 + tanh(u)) = x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3): the
// second form has no cancellation for negative x.
LF_AVX512_INLINE __m512 gelu16(__m512 x) {
    const __m512 x2 = _mm512_mul_ps(x, x);
    const __m512 u = _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f), x),
                                   _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x2, _mm512_set1_ps(1.0f)));
    const __m512 e = exp16(_mm512_mul_ps(_mm512_set1_ps(-2.0f), u));
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// Lane n = the sum of the sixteen lanes of a[n]. Every input goes through the same pairing
// (lanes two apart within each 128-bit lane, then neighbours, then the 128-bit lanes), so a sum
// does not depend on which slot of the sixteen it came in; most shuffles stay within 128-bit
// lanes, where they do not compete with the multiply-adds.
LF_AVX512_INLINE __m512 hsum16(const __m512* a) {
    __m512 b[8], c[4];
    LF_UNROLL
    for (int j = 0; j < 8; ++j)
        b[j] = _mm512_add_ps(_mm512_shuffle_ps(a[2 * j], a[2 * j + 1], 0x44), _mm512_shuffle_ps(a[2 * j], a[2 * j + 1], 0xee));
    LF_UNROLL
    for (int j = 0; j < 4; ++j)
        c[j] = _mm512_add_ps(_mm512_shuffle_ps(b[2 * j], b[2 * j + 1], 0x88), _mm512_shuffle_ps(b[2 * j], b[2 * j + 1], 0xdd));
    const __m512 f01 = _mm512_add_ps(_mm512_shuffle_f32x4(c[0], c[1], 0x44), _mm512_shuffle_f32x4(c[0], c[1], 0xee));
    const __m512 f23 = _mm512_add_ps(_mm512_shuffle_f32x4(c[2], c[3], 0x44), _mm512_shuffle_f32x4(c[2], c[3], 0xee));
    return _mm512_add_ps(_mm512_shuffle_f32x4(f01, f23, 0x88), _mm512_shuffle_f32x4(f01, f23, 0xdd));
}

LF_AVX512_INLINE __mmask16 tail_mask(int64_t left) { return static_cast<__mmask16>((1u << left) - 1); }

}  // namespace

LF_AVX512 void gelu_tanh_avx512(float* x, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m, gelu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

LF_AVX512 void gelu_mul_avx512(float* gate, const float* up, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(gate + i, _mm512_mul_ps(gelu16(_mm512_loadu_ps(gate + i)), _mm512_loadu_ps(up + i)));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(gate + i, m,
                              _mm512_mul_ps(gelu16(_mm512_maskz_loadu_ps(m, gate + i)), _mm512_maskz_loadu_ps(m, up + i)));
    }
}

LF_AVX512 void rms_norm_avx512(const float* x, const float* w, float* y, int64_t n, float eps) {
    // Lane k is part[k] of the scalar level: the same products (exact in double) added in order.
    __m512d part8 = _mm512_setzero_pd();
    int64_t i8 = 0;
    for (; i8 + 8 <= n; i8 += 8) {
        const __m512d v = _mm512_cvtps_pd(_mm256_loadu_ps(x + i8));
        part8 = _mm512_fmadd_pd(v, v, part8);
    }
    alignas(64) double part[8];
    _mm512_store_pd(part, part8);
    const __m512 scale = _mm512_set1_ps(rms_scale_from_parts(part, x, i8, n, eps));
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), scale);
        _mm512_storeu_ps(y + i, w ? _mm512_mul_ps(v, _mm512_loadu_ps(w + i)) : v);
    }
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), scale);
        _mm512_mask_storeu_ps(y + i, m, w ? _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i)) : v);
    }
}

LF_AVX512 void merge_partials_avx512(const attn_partial* parts, const float* acc, int n, int stride, int head_dim,
                                     float* out) {
    const float m = merge_max(parts, n, stride);
    for (int d = 0; d < head_dim; d += 16) _mm512_storeu_ps(out + d, _mm512_setzero_ps());
    float l = 0.f;
    for (int i = 0; i < n; ++i) {
        const attn_partial& p = parts[i * stride];
        if (p.l == 0.f) continue;
        const float c = std::exp(p.m - m);
        l += p.l * c;
        const __m512 cv = _mm512_set1_ps(c);
        const float* a = acc + static_cast<size_t>(i) * stride * head_dim;
        for (int d = 0; d < head_dim; d += 16)
            _mm512_storeu_ps(out + d, _mm512_add_ps(_mm512_loadu_ps(out + d), _mm512_mul_ps(_mm512_loadu_ps(a + d), cv)));
    }
    if (l > 0.f) {
        const __m512 lv = _mm512_set1_ps(l);
        for (int d = 0; d < head_dim; d += 16) _mm512_storeu_ps(out + d, _mm512_div_ps(_mm512_loadu_ps(out + d), lv));
    }
}

LF_AVX512 void softcap_avx512(float* x, int64_t n, float cap) {
    const __m512 c = _mm512_set1_ps(cap);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(x + i, _mm512_mul_ps(c, tanh16(_mm512_div_ps(_mm512_loadu_ps(x + i), c))));
    if (i < n) {
        const __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(c, tanh16(_mm512_div_ps(_mm512_maskz_loadu_ps(m, x + i), c))));
    }
}

namespace {

// Value sums of TH heads for TD consecutive 16-wide output chunks from chunk dc0 (acc + h *
// acc_stride is head h's partial output, c[h] its rescale, s[h][i] its weight for lane i): each
// accumulator starts from the rescaled partial and adds lanes lo .. hi of the block in order.
template <int TH, int TD>
LF_AVX512_INLINE void value_tile(float* acc, size_t acc_stride, const float* c, const float (*s)[16],
                                 const float* const* v_rows, int lo, int hi, int dc0) {
    __m512 a[TH][TD];
    LF_UNROLL
    for (int hh = 0; hh < TH; ++hh)
        LF_UNROLL
        for (int dd = 0; dd < TD; ++dd)
            a[hh][dd] = _mm512_mul_ps(_mm512_loadu_ps(acc + hh * acc_stride + 16 * (dc0 + dd)), _mm512_set1_ps(c[hh]));
    for (int i = lo; i <= hi; ++i) {
        __m512 v[TD];
        LF_UNROLL
        for (int dd = 0; dd < TD; ++dd) v[dd] = _mm512_loadu_ps(v_rows[i] + 16 * (dc0 + dd));
        LF_UNROLL
        for (int hh = 0; hh < TH; ++hh) {
            const __m512 pv = _mm512_set1_ps(s[hh][i]);
            LF_UNROLL
            for (int dd = 0; dd < TD; ++dd) a[hh][dd] = _mm512_fmadd_ps(pv, v[dd], a[hh][dd]);
        }
    }
    LF_UNROLL
    for (int hh = 0; hh < TH; ++hh)
        LF_UNROLL
        for (int dd = 0; dd < TD; ++dd) _mm512_storeu_ps(acc + hh * acc_stride + 16 * (dc0 + dd), a[hh][dd]);
}

// Heads h0 .. h0 + NH - 1 of every row against the same keys. Blocks of 16 positions start at
// multiples of 16; a block's key and value rows are loaded once from memory and then serve every
// row whose keys it holds (from L1 for the rows after the first). Per (row, head, key) the score
// is one accumulator over the head dimension in order and one fixed horizontal sum; a row's
// softmax and value sums use only the lanes of its own keys, always in the same lanes of the
// same blocks; per (head, output chunk) the value sum starts from the rescaled accumulator and
// adds the row's keys in order. So neither the tiling below, NH nor the other rows change a bit
// of any head's result. Tiles of TH heads x TK keys (scores) and TH heads x TD chunks of 16
// outputs (values), 16 accumulators each, so one load serves several FMAs.
template <int NH>
LF_AVX512 void attend_rows(const attn_row* rows, int n_rows, int h0, const kv_span* spans, int n_spans, int pos0,
                           int head_dim) {
    constexpr int B = 16;  // keys per block
    constexpr int TH = NH % 4 == 0 ? 4 : NH % 2 == 0 ? 2 : 1;
    constexpr int TK = 16 / TH;  // keys per score tile (divides B)
    constexpr int TD = 16 / TH;  // 16-wide output chunks per value tile
    const int nd = head_dim / 16;
    attn_rows_state<NH> st(rows, n_rows, h0, head_dim);
    for (int b0 = st.first - st.first % B; b0 <= st.last; b0 += B) {
        const attn_block<B> blk(spans, n_spans, pos0, b0, st.first, st.last);
        bool prefetched = false;
        for (int r = 0; r < n_rows; ++r) {
            int lo, hi;
            if (!block_lanes(b0, B, rows[r].first, rows[r].last, lo, hi)) continue;
            const attn_row row = rows[r];  // a copy: its fields stay in registers
            const float* q = row.q + h0 * row.q_stride;
            alignas(64) float s[NH][B];
            for (int hq = 0; hq < NH; hq += TH) {
                for (int i0 = 0; i0 < B; i0 += TK) {
                    if (!prefetched)
                        for (int i = std::max(i0, blk.next_lo); i < i0 + TK && i <= blk.next_hi; ++i)
                            prefetch_row_pair<3>(blk.next_k[i], blk.next_v[i], head_dim);
                    __m512 a[TH][TK];
                    LF_UNROLL
                    for (int hh = 0; hh < TH; ++hh)
                        LF_UNROLL
                        for (int ii = 0; ii < TK; ++ii) a[hh][ii] = _mm512_setzero_ps();
                    for (int dc = 0; dc < nd; ++dc) {
                        __m512 k[TK];
                        LF_UNROLL
                        for (int ii = 0; ii < TK; ++ii) k[ii] = _mm512_loadu_ps(blk.k_rows[i0 + ii] + 16 * dc);
                        LF_UNROLL
                        for (int hh = 0; hh < TH; ++hh) {
                            const __m512 qv = _mm512_loadu_ps(q + (hq + hh) * row.q_stride + 16 * dc);
                            LF_UNROLL
                            for (int ii = 0; ii < TK; ++ii) a[hh][ii] = _mm512_fmadd_ps(qv, k[ii], a[hh][ii]);
                        }
                    }
                    // The tile's 16 scores in one transposed sum (lane hh * TK + ii).
                    alignas(64) float sums[16];
                    _mm512_store_ps(sums, hsum16(&a[0][0]));
                    LF_UNROLL
                    for (int hh = 0; hh < TH; ++hh)
                        LF_UNROLL
                        for (int ii = 0; ii < TK; ++ii) s[hq + hh][i0 + ii] = sums[hh * TK + ii];
                }
                prefetched = true;
            }
            const __mmask16 valid = static_cast<__mmask16>(tail_mask(hi + 1) & ~tail_mask(lo));  // lanes lo .. hi
            float c[NH];
            LF_UNROLL
            for (int h = 0; h < NH; ++h) {
                const __m512 sv = _mm512_mask_load_ps(_mm512_set1_ps(-std::numeric_limits<float>::infinity()), valid, s[h]);
                const float m_new = std::max(st.m[r][h], _mm512_reduce_max_ps(sv));
                c[h] = st.m[r][h] == -std::numeric_limits<float>::infinity()
                           ? 0.0f
                           : _mm512_cvtss_f32(exp16(_mm512_set1_ps(st.m[r][h] - m_new)));
                const __m512 p = _mm512_maskz_mov_ps(valid, exp16(_mm512_sub_ps(sv, _mm512_set1_ps(m_new))));
                _mm512_store_ps(s[h], p);
                st.l[r][h] = st.l[r][h] * c[h] + _mm512_reduce_add_ps(p);
                st.m[r][h] = m_new;
            }
            for (int hq = 0; hq < NH; hq += TH) {
                float* acc_h = row.acc + (h0 + hq) * row.acc_stride;
                int dc0 = 0;
                for (; dc0 + TD <= nd; dc0 += TD)
                    value_tile<TH, TD>(acc_h, row.acc_stride, c + hq, s + hq, blk.v_rows, lo, hi, dc0);
                for (; dc0 < nd; ++dc0)  // chunks left over when nd is not a multiple of TD
                    value_tile<TH, 1>(acc_h, row.acc_stride, c + hq, s + hq, blk.v_rows, lo, hi, dc0);
            }
        }
    }
    st.finish(rows, n_rows, h0);
}

}  // namespace

void attend_rows_avx512(const attn_row* rows, int n_rows, int h0, int nh, const kv_span* spans, int n_spans, int pos0,
                        int head_dim) {
    switch (nh) {
        case 1: return attend_rows<1>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        case 2: return attend_rows<2>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        case 3: return attend_rows<3>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        case 4: return attend_rows<4>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        case 5: return attend_rows<5>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        case 6: return attend_rows<6>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        case 7: return attend_rows<7>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
        default: return attend_rows<8>(rows, n_rows, h0, spans, n_spans, pos0, head_dim);
    }
}

}  // namespace lf::cpu
#endif  // __x86_64__
