// AVX-512 (F, BW, VL, DQ) + VNNI matmul kernels (x86-64). Every function carries its own target
// attribute; the driver runs them only on CPUs that have all of these.
//
// VNNI's dpbusd multiplies unsigned by signed bytes. The activations are stored shifted to
// unsigned, u = x + 128 (x = ggml's q8_0 value, |x| <= 127), so for signed weights w
//     sum(x * w) = dpbusd(-128 * sum(w), u, w)
// per 32-bit lane (4 bytes): exact, no saturation, and the correction depends on the weight block
// only, so it is computed once and shared by every activation row. Two weight blocks fill one
// 512-bit register; each is unpacked once and applied to up to 8 activation rows.
// Quantized activation layout: uint8 u [n_rows, n_in], then f32 [n_rows, n_in / 4]: the
// f16-rounded scale of the block each 4-byte lane belongs to (one load per row gives the lane
// scales of two blocks). Each activation row keeps two f32 accumulators (alternating pairs of
// blocks or 16-wide steps), the same sequence for any batch size.
#include "kernels/cpu/matmul-impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>

#include "core/error.h"

// GCC 12 flags the deliberately undefined registers inside its own AVX-512 intrinsics (reduce,
// extract, cvtph) once they are inlined here; those are false positives.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define LF_AVX512_TARGET "avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c"
#define LF_AVX512 __attribute__((target(LF_AVX512_TARGET)))
#define LF_AVX512_INLINE __attribute__((target(LF_AVX512_TARGET), always_inline)) inline

namespace lf::cpu {
namespace {

constexpr int k_max_rows = 8;  // activation rows per register block

size_t align64(size_t n) { return (n + 63) & ~size_t{63}; }

struct act_layout {
    uint8_t* u;       // uint8 [n_rows, n_in]: x + 128
    float* d_lanes;   // f32 [n_rows, n_in / 4]
};

act_layout act_at(const void* xq, int64_t n_rows, int64_t n_in) {
    auto* base = static_cast<uint8_t*>(const_cast<void*>(xq));
    return {base, reinterpret_cast<float*>(base + align64(static_cast<size_t>(n_rows * n_in)))};
}

size_t avx512_act_bytes(int64_t n_rows, int64_t n_in) {
    return align64(static_cast<size_t>(n_rows * n_in)) + static_cast<size_t>(n_rows * (n_in / 4)) * 4;
}

// roundf (half away from zero): truncate, then step away from zero when the dropped fraction
// (exact: v - trunc(v)) is at least one half.
LF_AVX512_INLINE __m512 round_half_away(__m512 v) {
    const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 step = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
    return _mm512_mask_add_ps(t, up, t, step);
}

// One q8_0 block with ggml's reference rounding (d = amax/127, q = roundf(x * (1/d))).
LF_AVX512_INLINE void quantize_block(const float* x, uint8_t* u, float* d_lanes) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const __m512 vid = _mm512_set1_ps(id);
    const __m128i q0 = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(round_half_away(_mm512_mul_ps(v0, vid))));
    const __m128i q1 = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(round_half_away(_mm512_mul_ps(v1, vid))));
    const __m128i bias = _mm_set1_epi8(static_cast<char>(0x80));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(u), _mm_xor_si128(q0, bias));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(u + 16), _mm_xor_si128(q1, bias));
    const float d16 = _cvtsh_ss(static_cast<unsigned short>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT)));
    _mm256_storeu_ps(d_lanes, _mm256_set1_ps(d16));
}

LF_AVX512 void avx512_quantize_act(const float* x, int64_t n_rows, int64_t n_in, int64_t row0,
                                   int64_t row1, void* xq) {
    const act_layout a = act_at(xq, n_rows, n_in);
    const int64_t nb = n_in / qk8_0;
    for (int64_t r = row0; r < row1; ++r)
        for (int64_t ib = 0; ib < nb; ++ib)
            quantize_block(x + r * n_in + ib * qk8_0, a.u + r * n_in + ib * qk8_0,
                           a.d_lanes + r * (n_in / 4) + ib * 8);
}

void avx512_act_to_q8_0(const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out) {
    const act_layout a = act_at(xq, n_rows, n_in);
    for (int64_t ib = 0; ib < n_in / qk8_0; ++ib) {
        out[ib].d = fp32_to_fp16(a.d_lanes[r * (n_in / 4) + ib * 8]);
        for (int j = 0; j < qk8_0; ++j)
            out[ib].qs[j] = static_cast<int8_t>(a.u[r * n_in + ib * qk8_0 + j] ^ 0x80);
    }
}

// ---- quantized weights ------------------------------------------------------------------------

// Blocks b[0], b[1] as 64 signed bytes in element order (block 0 in the low 256 bits).
LF_AVX512_INLINE __m512i weights_i8_pair(const block_q4_0* b) {
    const __m256i q = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b[1].qs)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs)));
    // [lo0 lo1 hi0 hi1] -> [lo0 hi0 lo1 hi1]: low nibbles are elements 0-15, high 16-31.
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(q), _mm256_srli_epi16(q, 4), 1);
    z = _mm512_and_si512(z, _mm512_set1_epi8(0x0f));
    z = _mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0));
    return _mm512_sub_epi8(z, _mm512_set1_epi8(8));
}
LF_AVX512_INLINE __m512i weights_i8_pair(const block_q8_0* b) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[0].qs));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[1].qs));
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
// A single block in the low 256 bits, zeros above.
LF_AVX512_INLINE __m512i weights_i8_one(const block_q4_0* b) {
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b[0].qs));
    const __m256i nib = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(0x0f));
    return _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_sub_epi8(nib, _mm256_set1_epi8(8)), 0);
}
LF_AVX512_INLINE __m512i weights_i8_one(const block_q8_0* b) {
    return _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b[0].qs)), 0);
}

// What a weight register needs besides its bytes: the dpbusd correction and the lane scales.
struct wpair {
    __m512i w;     // signed weights
    __m512i corr;  // -128 * (sum of each 4 weights)
    __m512 dw;     // each lane's weight-block scale
};

template <typename Block>
LF_AVX512_INLINE wpair load_pair(const Block* b) {
    wpair p;
    p.w = weights_i8_pair(b);
    p.corr = _mm512_sub_epi32(_mm512_setzero_si512(),
                              _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(static_cast<char>(0x80)), p.w));
    p.dw = _mm512_insertf32x8(_mm512_set1_ps(_cvtsh_ss(b[0].d)), _mm256_set1_ps(_cvtsh_ss(b[1].d)), 1);
    return p;
}

template <typename Block>
LF_AVX512_INLINE wpair load_one(const Block* b) {
    wpair p;
    p.w = weights_i8_one(b);
    p.corr = _mm512_sub_epi32(_mm512_setzero_si512(),
                              _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(static_cast<char>(0x80)), p.w));
    p.dw = _mm512_insertf32x8(_mm512_set1_ps(_cvtsh_ss(b[0].d)), _mm256_setzero_ps(), 1);
    return p;
}

// acc += (exact lane sums of w * x) * (lane scale of w) * (lane scale of x)
LF_AVX512_INLINE __m512 accumulate(const wpair& p, const uint8_t* u, const float* d_lanes, __m512 acc) {
    const __m512i s = _mm512_dpbusd_epi32(p.corr, _mm512_loadu_si512(u), p.w);
    const __m512 scale = _mm512_mul_ps(p.dw, _mm512_loadu_ps(d_lanes));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc);
}

// out[k] = one weight row times activation rows r0 .. r0+R-1.
template <typename Block, int R>
LF_AVX512 void quant_rows(const Block* w, int64_t nb, act_layout a, int64_t n_in, int64_t r0, float* out) {
    __m512 acc0[R], acc1[R];
    for (int k = 0; k < R; ++k) acc0[k] = acc1[k] = _mm512_setzero_ps();
    const uint8_t* u = a.u + r0 * n_in;
    const float* dl = a.d_lanes + r0 * (n_in / 4);
    const int64_t dl_stride = n_in / 4;
    int64_t ib = 0;
    for (; ib + 4 <= nb; ib += 4) {
        const wpair p0 = load_pair(w + ib), p1 = load_pair(w + ib + 2);
        for (int k = 0; k < R; ++k) {
            acc0[k] = accumulate(p0, u + k * n_in + ib * 32, dl + k * dl_stride + ib * 8, acc0[k]);
            acc1[k] = accumulate(p1, u + k * n_in + (ib + 2) * 32, dl + k * dl_stride + (ib + 2) * 8, acc1[k]);
        }
    }
    if (ib + 2 <= nb) {
        const wpair p0 = load_pair(w + ib);
        for (int k = 0; k < R; ++k)
            acc0[k] = accumulate(p0, u + k * n_in + ib * 32, dl + k * dl_stride + ib * 8, acc0[k]);
        ib += 2;
    }
    if (ib < nb) {
        // The last odd block: only the low half of the loads is meaningful; the upper lanes of
        // the weights and scales are zero, so they add exact zeros.
        const wpair p1 = load_one(w + ib);
        for (int k = 0; k < R; ++k) {
            const __m512i x = _mm512_maskz_loadu_epi8(0xffffffffull, u + k * n_in + ib * 32);
            const __m512i s = _mm512_dpbusd_epi32(p1.corr, x, p1.w);
            const __m512 scale = _mm512_mul_ps(p1.dw, _mm512_maskz_loadu_ps(0x00ff, dl + k * dl_stride + ib * 8));
            acc1[k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), scale, acc1[k]);
        }
    }
    for (int k = 0; k < R; ++k) out[k] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[k], acc1[k]));
}

// ---- float weights ----------------------------------------------------------------------------

template <dtype T>
LF_AVX512_INLINE __m512 load16(const void* w, int64_t i) {
    if constexpr (T == dtype::f32) {
        return _mm512_loadu_ps(static_cast<const float*>(w) + i);
    } else {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(static_cast<const uint16_t*>(w) + i));
        if constexpr (T == dtype::f16) return _mm512_cvtph_ps(h);
        else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
}

template <dtype T>
LF_AVX512_INLINE __m512 load16_masked(const void* w, int64_t i, __mmask16 m) {
    if constexpr (T == dtype::f32) {
        return _mm512_maskz_loadu_ps(m, static_cast<const float*>(w) + i);
    } else {
        const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const uint16_t*>(w) + i);
        if constexpr (T == dtype::f16) return _mm512_cvtph_ps(h);
        else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
}

template <dtype T, int R>
LF_AVX512 void float_rows(const void* w, const float* x, int64_t n, float* out) {
    __m512 acc0[R], acc1[R];
    for (int k = 0; k < R; ++k) acc0[k] = acc1[k] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 w0 = load16<T>(w, i), w1 = load16<T>(w, i + 16);
        for (int k = 0; k < R; ++k) {
            acc0[k] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + k * n + i), acc0[k]);
            acc1[k] = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + k * n + i + 16), acc1[k]);
        }
    }
    if (i + 16 <= n) {
        const __m512 w0 = load16<T>(w, i);
        for (int k = 0; k < R; ++k) acc0[k] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + k * n + i), acc0[k]);
        i += 16;
    }
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        const __m512 w1 = load16_masked<T>(w, i, m);
        for (int k = 0; k < R; ++k) acc1[k] = _mm512_fmadd_ps(w1, _mm512_maskz_loadu_ps(m, x + k * n + i), acc1[k]);
    }
    for (int k = 0; k < R; ++k) out[k] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[k], acc1[k]));
}

// ---- driver -----------------------------------------------------------------------------------

template <int R>
LF_AVX512 void rows_r(const matmul_job& job, const uint8_t* wrow, int64_t r0, float* out) {
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

void avx512_dot_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    static constexpr rows_fn fns[k_max_rows] = {rows_r<1>, rows_r<2>, rows_r<3>, rows_r<4>, rows_r<5>, rows_r<6>, rows_r<7>, rows_r<8>};
    dot_rows_blocked(job, o0, o1, fns, k_max_rows);
}

}  // namespace

const matmul_kernels k_avx512_kernels = {avx512_act_bytes, avx512_quantize_act, avx512_act_to_q8_0,
                                         avx512_dot_rows};

}  // namespace lf::cpu
#endif  // __x86_64__
