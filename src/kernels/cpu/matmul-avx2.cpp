// AVX2+FMA+F16C matmul kernels (x86-64). Every function here carries its own target attribute, so
// the file builds into a portable binary and only runs when the driver has checked the CPU.
//
// Quantized weights: eight output rows share one register, one row per 32-bit lane. Each block's
// bytes of the eight rows are transposed on the fly (4x4 dword transposes), so lane j of register
// t holds row j's weights for elements 4t..4t+3, and the activation block is applied four bytes
// at a time by broadcast. Every lane keeps an exact int32 block sum and follows the scalar
// reference's float sequence - (sum * d_w) * d_x added block after block - so results are
// bit-identical to it. q4_0: maddubs(nibble 0..15, x) pairs are at most 3810, so the eight
// steps of a block add up in int16 without overflow (<= 30480) before one widening; the 8 * (sum
// of x) excess is subtracted in int32. q8_0: ggml's sign trick, maddubs(|w|, sign(x, w)), widened
// every step. The weight tile is unpacked once for up to 4 activation rows.
// Float weights: 4x2 or 2x4 tiles of weight x activation rows, 8-wide FMAs (tolerance vs. the
// reference).
#include "kernels/cpu/matmul-impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "core/error.h"

#define LF_AVX2 __attribute__((target("avx2,fma,f16c")))
#define LF_AVX2_INLINE __attribute__((target("avx2,fma,f16c"), always_inline)) inline

namespace lf::cpu {
namespace {

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
LF_AVX2_INLINE void quantize_block(const float* x, int8_t* qs, int32_t* sum, float* d_out) {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 v[4];
    LF_UNROLL
    for (int k = 0; k < 4; ++k) v[k] = _mm256_loadu_ps(x + 8 * k);
    // NaN lanes count as 0 for the maximum and quantize to 0, as in the scalar reference.
    __m256 a[4];
    LF_UNROLL
    for (int k = 0; k < 4; ++k) a[k] = _mm256_and_ps(_mm256_and_ps(v[k], abs_mask), _mm256_cmp_ps(v[k], v[k], _CMP_ORD_Q));
    const __m256 m = _mm256_max_ps(_mm256_max_ps(a[0], a[1]), _mm256_max_ps(a[2], a[3]));
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *d_out = _cvtsh_ss(static_cast<unsigned short>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT)));
    const __m256 vid = _mm256_set1_ps(id);
    __m256i q[4];
    LF_UNROLL
    for (int k = 0; k < 4; ++k) {
        const __m256 p = _mm256_mul_ps(v[k], vid);
        q[k] = _mm256_cvttps_epi32(_mm256_and_ps(round_half_away(p), _mm256_cmp_ps(p, p, _CMP_ORD_Q)));
    }
    const __m256i s4 = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    __m128i s2 = _mm_add_epi32(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
    s2 = _mm_add_epi32(s2, _mm_shuffle_epi32(s2, _MM_SHUFFLE(1, 0, 3, 2)));
    s2 = _mm_add_epi32(s2, _mm_shuffle_epi32(s2, _MM_SHUFFLE(2, 3, 0, 1)));
    *sum = _mm_cvtsi128_si32(s2);
    // packs interleave 128-bit lanes; the permute restores element order.
    const __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs),
                        _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

LF_AVX2 void avx2_quantize_act(dtype, const float* x, int64_t n_rows, int64_t n_in, int64_t row0,
                               int64_t row1, void* xq) {
    const q8_act a = q8_act_at(xq, n_rows, n_in);
    const int64_t nb = n_in / qk8_0;
    for (int64_t r = row0; r < row1; ++r)
        for (int64_t ib = 0; ib < nb; ++ib)
            quantize_block(x + r * n_in + ib * qk8_0, a.qs + (ib * n_rows + r) * qk8_0, a.sum + ib * n_rows + r,
                           a.d + ib * n_rows + r);
}

// ---- quantized weights ------------------------------------------------------------------------

constexpr int k_tile_out = 8;  // output rows per quantized tile (one per lane)
constexpr int k_tile_act = 4;  // activation rows per quantized tile

// Sixteen bytes of each of 8 rows (row j at p + j * rb), transposed: lane j of t[k] = row j's
// bytes 4k..4k+3. Register q holds rows q and 4+q in its 128-bit lanes, so after the in-lane 4x4
// transpose lane 4i+q is row 4i+q.
LF_AVX2_INLINE __m256i row2(const uint8_t* a, const uint8_t* b) {
    return _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b)),
                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(a)));
}

LF_AVX2_INLINE void load_transposed(const uint8_t* p, size_t rb, __m256i t[4]) {
    const size_t r3 = 3 * rb, r5 = 5 * rb, r7 = 7 * rb;
    const __m256i z0 = row2(p, p + 4 * rb), z1 = row2(p + rb, p + r5);
    const __m256i z2 = row2(p + 2 * rb, p + 2 * r3), z3 = row2(p + r3, p + r7);
    const __m256i a = _mm256_unpacklo_epi32(z0, z1), b = _mm256_unpackhi_epi32(z0, z1);
    const __m256i c = _mm256_unpacklo_epi32(z2, z3), d = _mm256_unpackhi_epi32(z2, z3);
    t[0] = _mm256_unpacklo_epi64(a, c);
    t[1] = _mm256_unpackhi_epi64(a, c);
    t[2] = _mm256_unpacklo_epi64(b, d);
    t[3] = _mm256_unpackhi_epi64(b, d);
}

LF_AVX2_INLINE __m256i broadcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

// 8 output rows (row j at base + j * rb) times activation rows r0 .. r0+R-1; outputs j < n_valid
// are stored to y (f32 [n_rows, n_out], already offset to the tile's first output).
template <typename Block, int R>
LF_AVX2 void quant_tile(const uint8_t* base, size_t rb, int64_t nb, const q8_act& a, int64_t n_rows, int64_t r0,
                        float* y, int64_t n_out, int n_valid) {
    const __m256i row_offsets = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                                   _mm256_set1_epi32(static_cast<int32_t>(rb)));
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[R];
    LF_UNROLL
    for (int k = 0; k < R; ++k) acc[k] = _mm256_setzero_ps();
    const int8_t* x = a.qs + r0 * 32;
    const int32_t* xs = a.sum + r0;
    const float* xd = a.d + r0;
    const uint8_t* p = base;
    for (int64_t ib = 0; ib < nb; ++ib) {
        // Scales: the first two bytes of each row's block (gathered as 32-bit, low half kept).
        const __m256i g = _mm256_and_si256(_mm256_i32gather_epi32(reinterpret_cast<const int*>(p), row_offsets, 1),
                                           _mm256_set1_epi32(0xffff));
        const __m256 dw = _mm256_cvtph_ps(_mm_packus_epi32(_mm256_castsi256_si128(g), _mm256_extracti128_si256(g, 1)));
        if constexpr (std::is_same_v<Block, block_q4_0>) {
            __m256i t[4], w[8];
            load_transposed(p + 2, rb, t);
            const __m256i m4 = _mm256_set1_epi8(0x0f);
            LF_UNROLL
            for (int q = 0; q < 4; ++q) {
                w[q] = _mm256_and_si256(t[q], m4);                            // elements 4q..4q+3
                w[q + 4] = _mm256_and_si256(_mm256_srli_epi16(t[q], 4), m4);  // elements 16+4q..
            }
            LF_UNROLL
            for (int k = 0; k < R; ++k) {
                const int8_t* xk = x + 32 * k;
                __m256i s16 = _mm256_maddubs_epi16(w[0], broadcast4(xk));
                LF_UNROLL
                for (int q = 1; q < 8; ++q) s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(w[q], broadcast4(xk + 4 * q)));
                const __m256i s = _mm256_sub_epi32(_mm256_madd_epi16(s16, ones), _mm256_set1_epi32(8 * xs[k]));
                // The reference's order: (float(sum) * d_w) * d_x, then added to the running sum.
                const __m256 f = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), dw), _mm256_set1_ps(xd[k]));
                acc[k] = _mm256_add_ps(acc[k], f);
            }
        } else {
            __m256i w[8], wabs[8];
            load_transposed(p + 2, rb, w);
            load_transposed(p + 18, rb, w + 4);
            LF_UNROLL
            for (int q = 0; q < 8; ++q) wabs[q] = _mm256_sign_epi8(w[q], w[q]);
            LF_UNROLL
            for (int k = 0; k < R; ++k) {
                const int8_t* xk = x + 32 * k;
                __m256i s = _mm256_setzero_si256();
                LF_UNROLL
                for (int q = 0; q < 8; ++q) {
                    const __m256i sx = _mm256_sign_epi8(broadcast4(xk + 4 * q), w[q]);
                    s = _mm256_add_epi32(s, _mm256_madd_epi16(_mm256_maddubs_epi16(wabs[q], sx), ones));
                }
                const __m256 f = _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(s), dw), _mm256_set1_ps(xd[k]));
                acc[k] = _mm256_add_ps(acc[k], f);
            }
        }
        p += sizeof(Block);
        x += n_rows * 32;
        xs += n_rows;
        xd += n_rows;
    }
    const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(n_valid), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    LF_UNROLL
    for (int k = 0; k < R; ++k) _mm256_maskstore_ps(y + (r0 + k) * n_out, keep, acc[k]);
}

template <typename Block>
LF_AVX2 void quant_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    const weight_view& w = job.w;
    const size_t rb = row_bytes(w.type, w.n_in);
    const int64_t nb = w.n_in / 32;
    const q8_act a = q8_act_at(job.xq, job.n_rows, w.n_in);
    for (int64_t t0 = 0; t0 < job.n_rows; t0 += 32) {
        const int64_t t1 = std::min(job.n_rows, t0 + 32);
        for (int64_t o = o0; o < o1; o += k_tile_out) {
            const int n_valid = static_cast<int>(std::min<int64_t>(k_tile_out, o1 - o));
            const uint8_t* rows = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(o) * rb;
            if (n_valid < k_tile_out) rows = padded_rows(rows, rb, n_valid, k_tile_out);
            float* y = job.y + o;
            for (int64_t r = t0; r < t1;) {
                switch (std::min<int64_t>(k_tile_act, t1 - r)) {
                    case 4: quant_tile<Block, 4>(rows, rb, nb, a, job.n_rows, r, y, w.n_out, n_valid); r += 4; break;
                    case 3: quant_tile<Block, 3>(rows, rb, nb, a, job.n_rows, r, y, w.n_out, n_valid); r += 3; break;
                    case 2: quant_tile<Block, 2>(rows, rb, nb, a, job.n_rows, r, y, w.n_out, n_valid); r += 2; break;
                    default: quant_tile<Block, 1>(rows, rb, nb, a, job.n_rows, r, y, w.n_out, n_valid); r += 1; break;
                }
            }
        }
    }
}

// ---- float weights ----------------------------------------------------------------------------

template <dtype T>
LF_AVX2_INLINE __m256 load8(const uint8_t* w, int64_t i) {
    if constexpr (T == dtype::f32) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + i);
    } else {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(w) + i));
        if constexpr (T == dtype::f16) return _mm256_cvtph_ps(h);
        else return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
}

template <dtype T>
LF_AVX2_INLINE float load1(const uint8_t* w, int64_t i) {
    if constexpr (T == dtype::f32) return reinterpret_cast<const float*>(w)[i];
    else if constexpr (T == dtype::f16) return _cvtsh_ss(reinterpret_cast<const uint16_t*>(w)[i]);
    else return bf16_to_fp32(reinterpret_cast<const uint16_t*>(w)[i]);
}

// W weight rows times R activation rows; per (weight row, activation row): one accumulator over
// 8-wide steps, one reduction, then the last elements one by one - the same sequence for any
// tile shape, so for any batch.
template <dtype T, int W, int R>
LF_AVX2 void float_tile(const uint8_t* wrow, size_t wrow_bytes, const float* x, int64_t n, float* out) {
    __m256 acc[W][R];
    LF_UNROLL
    for (int j = 0; j < W; ++j)
        LF_UNROLL
        for (int k = 0; k < R; ++k) acc[j][k] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 wv[W];
        LF_UNROLL
        for (int j = 0; j < W; ++j) wv[j] = load8<T>(wrow + j * wrow_bytes, i);
        LF_UNROLL
        for (int k = 0; k < R; ++k) {
            const __m256 xv = _mm256_loadu_ps(x + k * n + i);
            LF_UNROLL
            for (int j = 0; j < W; ++j) acc[j][k] = _mm256_fmadd_ps(wv[j], xv, acc[j][k]);
        }
    }
    LF_UNROLL
    for (int j = 0; j < W; ++j) {
        LF_UNROLL
        for (int k = 0; k < R; ++k) {
            float s = hsum(acc[j][k]);
            for (int64_t e = i; e < n; ++e) s += load1<T>(wrow + j * wrow_bytes, e) * x[k * n + e];
            out[j * R + k] = s;
        }
    }
}

// Sixteen ymm registers: 4x2 or 2x4 tiles, at most 8 accumulators.
struct float_tiles {
    static constexpr int max_r = 4;
    static constexpr int w_for_r[9] = {0, 4, 4, 2, 2, 0, 0, 0, 0};
    template <int W, int R>
    LF_AVX2 static void run(const matmul_job& job, const uint8_t* wrow, size_t wrow_bytes, int64_t r0, float* out) {
        const int64_t n = job.w.n_in;
        const float* x = job.x + r0 * n;
        switch (job.w.type) {
            case dtype::f16: return float_tile<dtype::f16, W, R>(wrow, wrow_bytes, x, n, out);
            case dtype::bf16: return float_tile<dtype::bf16, W, R>(wrow, wrow_bytes, x, n, out);
            default: return float_tile<dtype::f32, W, R>(wrow, wrow_bytes, x, n, out);
        }
    }
};

constexpr tile_table k_float_tiles = make_tile_table<float_tiles>();

void avx2_dot_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    switch (job.w.type) {
        case dtype::q4_0: return quant_rows<block_q4_0>(job, o0, o1);
        case dtype::q8_0: return quant_rows<block_q8_0>(job, o0, o1);
        default: return dot_rows_tiled(job, o0, o1, k_float_tiles);
    }
}

}  // namespace

const matmul_kernels k_avx2_kernels = {q8_act_bytes, avx2_quantize_act, q8_act_to_q8_0, avx2_dot_rows};

}  // namespace lf::cpu
#endif  // __x86_64__
