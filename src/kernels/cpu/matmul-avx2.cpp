// AVX2+FMA+F16C matmul kernels (x86-64). Every function here carries its own target attribute, so
// the file builds into a portable binary and only runs when the driver has checked the CPU.
//
// Quantized activations: int8 qs [n_rows, n_in] (ggml's q8_0 values), then the f16-rounded block
// scales as f32 [n_rows, n_in / 32]. A weight block (32 values) is unpacked once into one register
// of signed bytes and multiplied against 1-4 activation rows (register blocking): weights stream
// from memory once for the whole batch. Block products use ggml's sign trick: maddubs(|w|,
// sign(x, w)) with |w| <= 128 and |x| <= 127 never saturates, so per-block integer sums are exact.
// Each activation row keeps two f32 accumulators (even/odd blocks, or even/odd 8-wide steps for
// float weights) so one row's FMA chain does not stall; the same sequence runs for any batch size.
#include "kernels/cpu/matmul-impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>

#include "core/error.h"

#define LF_AVX2 __attribute__((target("avx2,fma,f16c")))
#define LF_AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline

namespace lf::cpu {
namespace {

constexpr int k_max_rows = 4;  // activation rows per register block

size_t align64(size_t n) { return (n + 63) & ~size_t{63}; }

struct act_layout {
    int8_t* qs;  // int8 [n_rows, n_in]
    float* d;    // f32 [n_rows, n_in / 32]
};

act_layout act_at(const void* xq, int64_t n_rows, int64_t n_in) {
    auto* base = static_cast<uint8_t*>(const_cast<void*>(xq));
    return {reinterpret_cast<int8_t*>(base),
            reinterpret_cast<float*>(base + align64(static_cast<size_t>(n_rows * n_in)))};
}

size_t avx2_act_bytes(int64_t n_rows, int64_t n_in) {
    return align64(static_cast<size_t>(n_rows * n_in)) + static_cast<size_t>(n_rows * (n_in / qk8_0)) * 4;
}

LF_AVX2_INLINE float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// roundf (half away from zero) of each lane: truncate, then step away from zero when the
// dropped fraction (exact: v - trunc(v)) is at least one half.
LF_AVX2_INLINE __m256 round_half_away(__m256 v) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign, _mm256_sub_ps(v, t));
    const __m256 step = _mm256_or_ps(_mm256_and_ps(v, sign), _mm256_set1_ps(1.0f));
    return _mm256_add_ps(t, _mm256_and_ps(_mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ), step));
}

// One q8_0 block with ggml's reference rounding: d = amax/127, q = roundf(x * (1/d)).
LF_AVX2_INLINE void quantize_block(const float* x, int8_t* qs, float* d_out) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 v[4];
    for (int k = 0; k < 4; ++k) v[k] = _mm256_loadu_ps(x + 8 * k);
    const __m256 m = _mm256_max_ps(_mm256_max_ps(_mm256_and_ps(v[0], abs_mask), _mm256_and_ps(v[1], abs_mask)),
                                   _mm256_max_ps(_mm256_and_ps(v[2], abs_mask), _mm256_and_ps(v[3], abs_mask)));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *d_out = _cvtsh_ss(static_cast<unsigned short>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT)));
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    for (int k = 0; k < 4; ++k) q[k] = _mm256_cvttps_epi32(round_half_away(_mm256_mul_ps(v[k], vid)));
    // packs interleave 128-bit lanes; the permute restores element order.
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs),
                        _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

LF_AVX2 void avx2_quantize_act(const float* x, int64_t n_rows, int64_t n_in, int64_t row0,
                               int64_t row1, void* xq) {
    const act_layout a = act_at(xq, n_rows, n_in);
    const int64_t nb = n_in / qk8_0;
    for (int64_t r = row0; r < row1; ++r)
        for (int64_t ib = 0; ib < nb; ++ib)
            quantize_block(x + r * n_in + ib * qk8_0, a.qs + r * n_in + ib * qk8_0, a.d + r * nb + ib);
}

void avx2_act_to_q8_0(const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out) {
    const act_layout a = act_at(xq, n_rows, n_in);
    const int64_t nb = n_in / qk8_0;
    for (int64_t ib = 0; ib < nb; ++ib) {
        out[ib].d = fp32_to_fp16(a.d[r * nb + ib]);
        for (int j = 0; j < qk8_0; ++j) out[ib].qs[j] = a.qs[r * n_in + ib * qk8_0 + j];
    }
}

// ---- quantized weights ------------------------------------------------------------------------

// The 32 weights of a block as signed bytes, in element order.
LF_AVX2_INLINE __m256i weights_i8(const block_q4_0& b) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.qs));
    const __m256i nib = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
    return _mm256_sub_epi8(nib, _mm256_set1_epi8(8));
}
LF_AVX2_INLINE __m256i weights_i8(const block_q8_0& b) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs));
}

// Exact integer products of one weight block with one activation block, as 8 lane sums.
LF_AVX2_INLINE __m256i block_dot(__m256i w_abs, __m256i w, const int8_t* x) {
    const __m256i xv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x));
    const __m256i p16 = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(xv, w));
    return _mm256_madd_epi16(p16, _mm256_set1_epi16(1));
}

// out[k] = row `o` of W times activation rows r0 .. r0+R-1.
template <typename Block, int R>
LF_AVX2 void quant_rows(const Block* w, int64_t nb, act_layout a, int64_t n_in, int64_t r0, float* out) {
    __m256 acc0[R], acc1[R];
    for (int k = 0; k < R; ++k) acc0[k] = acc1[k] = _mm256_setzero_ps();
    const int8_t* xqs = a.qs + r0 * n_in;
    const float* xd = a.d + r0 * nb;
    int64_t ib = 0;
    for (; ib + 2 <= nb; ib += 2) {
        const __m256i w0 = weights_i8(w[ib]), w1 = weights_i8(w[ib + 1]);
        const __m256i aw0 = _mm256_sign_epi8(w0, w0), aw1 = _mm256_sign_epi8(w1, w1);
        const __m256 dw0 = _mm256_set1_ps(_cvtsh_ss(w[ib].d)), dw1 = _mm256_set1_ps(_cvtsh_ss(w[ib + 1].d));
        for (int k = 0; k < R; ++k) {
            const __m256i s0 = block_dot(aw0, w0, xqs + k * n_in + ib * qk8_0);
            const __m256i s1 = block_dot(aw1, w1, xqs + k * n_in + (ib + 1) * qk8_0);
            const __m256 d0 = _mm256_mul_ps(dw0, _mm256_broadcast_ss(xd + k * nb + ib));
            const __m256 d1 = _mm256_mul_ps(dw1, _mm256_broadcast_ss(xd + k * nb + ib + 1));
            acc0[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0), d0, acc0[k]);
            acc1[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s1), d1, acc1[k]);
        }
    }
    if (ib < nb) {
        const __m256i w0 = weights_i8(w[ib]);
        const __m256i aw0 = _mm256_sign_epi8(w0, w0);
        const __m256 dw0 = _mm256_set1_ps(_cvtsh_ss(w[ib].d));
        for (int k = 0; k < R; ++k) {
            const __m256i s0 = block_dot(aw0, w0, xqs + k * n_in + ib * qk8_0);
            const __m256 d0 = _mm256_mul_ps(dw0, _mm256_broadcast_ss(xd + k * nb + ib));
            acc0[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s0), d0, acc0[k]);
        }
    }
    for (int k = 0; k < R; ++k) out[k] = hsum(_mm256_add_ps(acc0[k], acc1[k]));
}

// ---- float weights ----------------------------------------------------------------------------

template <dtype T>
LF_AVX2_INLINE __m256 load8(const void* w, int64_t i) {
    if constexpr (T == dtype::f32) {
        return _mm256_loadu_ps(static_cast<const float*>(w) + i);
    } else if constexpr (T == dtype::f16) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i)));
    } else {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(w) + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
}

template <dtype T>
LF_AVX2_INLINE float load1(const void* w, int64_t i) {
    if constexpr (T == dtype::f32) return static_cast<const float*>(w)[i];
    else if constexpr (T == dtype::f16) return _cvtsh_ss(static_cast<const uint16_t*>(w)[i]);
    else return bf16_to_fp32(static_cast<const uint16_t*>(w)[i]);
}

template <dtype T, int R>
LF_AVX2 void float_rows(const void* w, const float* x, int64_t n, float* out) {
    __m256 acc0[R], acc1[R];
    for (int k = 0; k < R; ++k) acc0[k] = acc1[k] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 w0 = load8<T>(w, i), w1 = load8<T>(w, i + 8);
        for (int k = 0; k < R; ++k) {
            acc0[k] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + k * n + i), acc0[k]);
            acc1[k] = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + k * n + i + 8), acc1[k]);
        }
    }
    if (i + 8 <= n) {
        const __m256 w0 = load8<T>(w, i);
        for (int k = 0; k < R; ++k) acc0[k] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + k * n + i), acc0[k]);
        i += 8;
    }
    for (int k = 0; k < R; ++k) {
        float s = hsum(_mm256_add_ps(acc0[k], acc1[k]));
        for (int64_t j = i; j < n; ++j) s += load1<T>(w, j) * x[k * n + j];
        out[k] = s;
    }
}

// ---- driver -----------------------------------------------------------------------------------

template <int R>
LF_AVX2 void rows_r(const matmul_job& job, const uint8_t* wrow, int64_t r0, float* out) {
    const weight_view& w = job.w;
    const int64_t n = w.n_in;
    switch (w.type) {
        case dtype::f32: return float_rows<dtype::f32, R>(wrow, job.x + r0 * n, n, out);
        case dtype::f16: return float_rows<dtype::f16, R>(wrow, job.x + r0 * n, n, out);
        case dtype::bf16: return float_rows<dtype::bf16, R>(wrow, job.x + r0 * n, n, out);
        case dtype::q8_0:
            return quant_rows<block_q8_0, R>(reinterpret_cast<const block_q8_0*>(wrow), n / qk8_0,
                                             act_at(job.xq, job.n_rows, n), n, r0, out);
        case dtype::q4_0:
            return quant_rows<block_q4_0, R>(reinterpret_cast<const block_q4_0*>(wrow), n / qk4_0,
                                             act_at(job.xq, job.n_rows, n), n, r0, out);
    }
}

void avx2_dot_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    static constexpr rows_fn fns[k_max_rows] = {rows_r<1>, rows_r<2>, rows_r<3>, rows_r<4>};
    dot_rows_blocked(job, o0, o1, fns, k_max_rows);
}

}  // namespace

const matmul_kernels k_avx2_kernels = {avx2_act_bytes, avx2_quantize_act, avx2_act_to_q8_0, avx2_dot_rows};

}  // namespace lf::cpu
#endif  // __x86_64__
