// AVX-512 (F, BW, VL, DQ) + VNNI matmul kernels (x86-64). Every function carries its own target
// attribute; the driver runs them only on CPUs that have all of these.
//
// Quantized weights, as ggml computes them: each weight row is read in its GGUF layout, two
// blocks (64 elements) per register in the activation's element order, and dpbusd against the
// activation's q8_pair gives sixteen exact int32 partial sums (eight per block; each lane starts
// at the pair's bias, so unsigned weights need no other correction). Per (weight row, activation
// row) one f32 accumulator gathers them across the whole row, acc = fma(float(sum), d_w * d_x,
// acc), pair after pair; one fixed horizontal sum ends it. That sequence is the same in every
// tile shape, so a row's result does not depend on its batch; it differs from the scalar
// reference (one f32 sum per block) by f32 rounding only.
// Tiles of up to 4 weight rows x 4 activation rows keep 16 accumulators in registers: each
// weight pair is unpacked once for 4 activation rows and each activation pair serves 4 weight
// rows. Decode (one activation row) runs 4 weight rows at once so 4 independent FMA chains hide
// the FMA latency.
// Float weights: 4x4 tiles of weight x activation rows, 16-wide FMAs (tolerance vs. the
// reference).
#include "kernels/cpu/matmul-impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>

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

// ---- activation quantization ------------------------------------------------------------------

// roundf (half away from zero): truncate, then step away from zero when the dropped fraction
// (exact: v - trunc(v)) is at least one half.
LF_AVX512_INLINE __m512 round_half_away(__m512 v) {
    const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 step = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
    return _mm512_mask_add_ps(t, up, t, step);
}

// One q8_0 block with ggml's reference rounding (d = amax/127, q = roundf(x * (1/d))); returns
// the f16-rounded scale.
LF_AVX512_INLINE float quantize_block(const float* x, int8_t* qs) {
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    // NaN lanes count as 0 for the maximum and quantize to 0, as in the scalar reference.
    const __mmask16 num0 = _mm512_cmp_ps_mask(v0, v0, _CMP_ORD_Q), num1 = _mm512_cmp_ps_mask(v1, v1, _CMP_ORD_Q);
    const float amax = _mm512_reduce_max_ps(
        _mm512_max_ps(_mm512_maskz_mov_ps(num0, _mm512_abs_ps(v0)), _mm512_maskz_mov_ps(num1, _mm512_abs_ps(v1))));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const __m512 vid = _mm512_set1_ps(id);
    const __m512 p0 = _mm512_mul_ps(v0, vid), p1 = _mm512_mul_ps(v1, vid);
    const __m512i q0 = _mm512_cvttps_epi32(_mm512_maskz_mov_ps(_mm512_cmp_ps_mask(p0, p0, _CMP_ORD_Q), round_half_away(p0)));
    const __m512i q1 = _mm512_cvttps_epi32(_mm512_maskz_mov_ps(_mm512_cmp_ps_mask(p1, p1, _CMP_ORD_Q), round_half_away(p1)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs), _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(qs + 16), _mm512_cvtepi32_epi8(q1));
    return _cvtsh_ss(static_cast<unsigned short>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT)));
}

LF_AVX512 void avx512_quantize_act(dtype wtype, const float* x, int64_t n_rows, int64_t n_in, int64_t row0,
                                   int64_t row1, void* xq) {
    const int64_t nb = n_in / qk8_0, np = q8_pairs_per_row(n_in);
    const __m512i excess = _mm512_set1_epi8(static_cast<char>(weight_excess(wtype)));
    for (int64_t r = row0; r < row1; ++r) {
        q8_pair* out = static_cast<q8_pair*>(xq) + r * np;
        const float* xr = x + r * n_in;
        for (int64_t k = 0; k < np; ++k) {
            q8_pair& p = out[k];
            const float d0 = quantize_block(xr + 64 * k, p.qs);
            float d1 = 0.0f;
            if (2 * k + 1 < nb) d1 = quantize_block(xr + 64 * k + 32, p.qs + 32);
            else std::memset(p.qs + 32, 0, 32);
            const __m512i q = _mm512_load_si512(p.qs);
            _mm512_store_ps(p.d, _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(d0), _mm512_set1_ps(d1)));
            _mm512_store_si512(p.bias, _mm512_sub_epi32(_mm512_setzero_si512(),
                                                        _mm512_dpbusd_epi32(_mm512_setzero_si512(), excess, q)));
        }
    }
}

// ---- quantized weights ------------------------------------------------------------------------

// One block pair of a weight row as dpbusd wants it: 64 unsigned bytes in the activation's
// element order, and the two scales spread over their eight lanes each.
struct wpair {
    __m512i q;
    __m512 d;
};

// q4_0: a pair is 36 bytes (scale, 16 nibble bytes, scale, 16 nibble bytes). One load, then a
// word permute places each block's 16 bytes in two 128-bit lanes, a per-lane shift picks the low
// nibbles (elements 0..15) or the high ones (16..31). `L` comes from a full or masked load.
LF_AVX512_INLINE wpair unpack_q4_0(__m512i L) {
    // Words: lanes 0-1 <- block 0's bytes (words 1..8), lanes 2-3 <- block 1's (words 10..17).
    const __m512i idx_q = _mm512_set_epi16(17, 16, 15, 14, 13, 12, 11, 10, 17, 16, 15, 14, 13, 12, 11, 10,
                                           8, 7, 6, 5, 4, 3, 2, 1, 8, 7, 6, 5, 4, 3, 2, 1);
    const __m512i shift = _mm512_set_epi16(4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0,
                                           4, 4, 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i idx_d = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                           9, 9, 9, 9, 9, 9, 9, 9, 0, 0, 0, 0, 0, 0, 0, 0);
    wpair w;
    w.q = _mm512_and_si512(_mm512_srlv_epi16(_mm512_permutexvar_epi16(idx_q, L), shift), _mm512_set1_epi8(0x0f));
    w.d = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(idx_d, L)));
    return w;
}

// q8_0: a pair is 68 bytes; values as w + 128 (unsigned).
LF_AVX512_INLINE wpair unpack_q8_0(const uint8_t* p, bool two) {
    const __m512i idx_d = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                           17, 17, 17, 17, 17, 17, 17, 17, 0, 0, 0, 0, 0, 0, 0, 0);
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
    wpair w;
    if (two) {
        const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 36));
        w.q = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), flip);
        w.d = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(idx_d, _mm512_loadu_si512(p))));
    } else {
        // The last block of an odd row: the upper half is weight 0 (128 - 128) times a zero
        // activation block, scale 0.
        w.q = _mm512_xor_si512(_mm512_zextsi256_si512(lo), flip);
        w.d = _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(idx_d, _mm512_maskz_loadu_epi16(1, p))));
    }
    return w;
}

// One pair of every (weight row, activation row) of a tile into its accumulator.
template <int W, int R>
LF_AVX512_INLINE void tile_step(__m512 (&acc)[W][R], const wpair* wp, const q8_pair* x, int64_t x_stride, int64_t i) {
    LF_UNROLL
    for (int k = 0; k < R; ++k) {
        const q8_pair& a = x[k * x_stride + i];
        const __m512i xq = _mm512_load_si512(a.qs);
        const __m512i bias = _mm512_load_si512(a.bias);
        const __m512 dx = _mm512_load_ps(a.d);
        LF_UNROLL
        for (int j = 0; j < W; ++j) {
            const __m512i s = _mm512_dpbusd_epi32(bias, wp[j].q, xq);
            acc[j][k] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(wp[j].d, dx), acc[j][k]);
        }
    }
}

// W weight rows (row j at w + j * rb) times R activation rows (row k's pairs at x + k * x_stride),
// into out[j * R + k]. np pairs per row; the first n_full of them may be read with whole 64-byte
// loads (they stay inside the row), the rest are read masked.
template <typename Block, int W, int R>
LF_AVX512 void quant_tile(const uint8_t* w, size_t rb, int64_t nb, int64_t n_full, const q8_pair* x,
                          int64_t x_stride, float* out) {
    constexpr bool q4 = std::is_same_v<Block, block_q4_0>;
    const int64_t np = (nb + 1) / 2;
    __m512 acc[W][R];
    LF_UNROLL
    for (int j = 0; j < W; ++j)
        LF_UNROLL
        for (int k = 0; k < R; ++k) acc[j][k] = _mm512_setzero_ps();
    int64_t i = 0;
    if constexpr (q4) {
        for (; i < n_full; ++i) {
            wpair wp[W];
            LF_UNROLL
            for (int j = 0; j < W; ++j) {
                _mm_prefetch(reinterpret_cast<const char*>(w + (W + j) * rb + i * 36), _MM_HINT_T0);
                wp[j] = unpack_q4_0(_mm512_loadu_si512(w + j * rb + i * 36));
            }
            tile_step<W, R>(acc, wp, x, x_stride, i);
        }
        for (; i < np; ++i) {
            const __mmask64 m = 2 * i + 1 < nb ? (uint64_t{1} << 36) - 1 : (uint64_t{1} << 18) - 1;
            wpair wp[W];
            LF_UNROLL
            for (int j = 0; j < W; ++j) wp[j] = unpack_q4_0(_mm512_maskz_loadu_epi8(m, w + j * rb + i * 36));
            tile_step<W, R>(acc, wp, x, x_stride, i);
        }
    } else {
        for (; i < np; ++i) {
            const bool two = 2 * i + 1 < nb;
            wpair wp[W];
            LF_UNROLL
            for (int j = 0; j < W; ++j) wp[j] = unpack_q8_0(w + j * rb + i * 68, two);
            tile_step<W, R>(acc, wp, x, x_stride, i);
        }
    }
    LF_UNROLL
    for (int j = 0; j < W; ++j)
        LF_UNROLL
        for (int k = 0; k < R; ++k) out[j * R + k] = _mm512_reduce_add_ps(acc[j][k]);
}

using quant_tile_fn = void (*)(const uint8_t*, size_t, int64_t, int64_t, const q8_pair*, int64_t, float*);

template <typename Block, int W>
constexpr std::array<quant_tile_fn, 4> quant_tiles_w() {
    return {&quant_tile<Block, W, 1>, &quant_tile<Block, W, 2>, &quant_tile<Block, W, 3>, &quant_tile<Block, W, 4>};
}
template <typename Block>
constexpr std::array<std::array<quant_tile_fn, 4>, 4> quant_tiles() {
    return {quant_tiles_w<Block, 1>(), quant_tiles_w<Block, 2>(), quant_tiles_w<Block, 3>(), quant_tiles_w<Block, 4>()};
}

constexpr int k_tile_w = 4;     // weight rows per register tile
constexpr int k_tile_r = 4;     // activation rows per register tile
constexpr int64_t k_act_rows = 16;  // activation rows kept in cache while a task's weights stream by

template <typename Block>
LF_AVX512 void quant_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    static constexpr auto tiles = quant_tiles<Block>();
    const weight_view& w = job.w;
    const size_t rb = row_bytes(w.type, w.n_in);
    const int64_t nb = w.n_in / qk8_0, np = q8_pairs_per_row(w.n_in);
    // q4_0 pairs whose 64-byte load ends inside the row.
    const int64_t n_full = std::is_same_v<Block, block_q4_0> ? std::min<int64_t>(nb / 2, rb >= 64 ? (rb - 64) / 36 + 1 : 0) : 0;
    const auto* xq = static_cast<const q8_pair*>(job.xq);
    float out[k_tile_w * k_tile_r];
    for (int64_t t0 = 0; t0 < job.n_rows; t0 += k_act_rows) {
        const int64_t t1 = std::min(job.n_rows, t0 + k_act_rows);
        for (int64_t o = o0; o < o1; o += k_tile_w) {
            const int n_w = static_cast<int>(std::min<int64_t>(k_tile_w, o1 - o));
            const uint8_t* wrow = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(o) * rb;
            for (int64_t r = t0; r < t1; r += k_tile_r) {
                const int n_r = static_cast<int>(std::min<int64_t>(k_tile_r, t1 - r));
                tiles[n_w - 1][n_r - 1](wrow, rb, nb, n_full, xq + r * np, np, out);
                for (int j = 0; j < n_w; ++j)
                    for (int k = 0; k < n_r; ++k) job.y[(r + k) * w.n_out + o + j] = out[j * n_r + k];
            }
        }
    }
}

// ---- float weights ----------------------------------------------------------------------------

template <dtype T>
LF_AVX512_INLINE __m512 load16(const uint8_t* w, int64_t i) {
    if constexpr (T == dtype::f32) {
        return _mm512_loadu_ps(reinterpret_cast<const float*>(w) + i);
    } else {
        const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(w) + i));
        if constexpr (T == dtype::f16) return _mm512_cvtph_ps(h);
        else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
}

template <dtype T>
LF_AVX512_INLINE __m512 load16_masked(const uint8_t* w, int64_t i, __mmask16 m) {
    if constexpr (T == dtype::f32) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(w) + i);
    } else {
        const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(w) + i);
        if constexpr (T == dtype::f16) return _mm512_cvtph_ps(h);
        else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
}

// W weight rows times R activation rows; per (weight row, activation row): one accumulator over
// 16-wide steps, the masked remainder last, one reduction - the same sequence for any tile shape,
// so for any batch.
template <dtype T, int W, int R>
LF_AVX512 void float_tile(const uint8_t* wrow, size_t wrow_bytes, const float* x, int64_t n, float* out) {
    __m512 acc[W][R];
    LF_UNROLL
    for (int j = 0; j < W; ++j)
        LF_UNROLL
        for (int k = 0; k < R; ++k) acc[j][k] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 wv[W];
        LF_UNROLL
        for (int j = 0; j < W; ++j) wv[j] = load16<T>(wrow + j * wrow_bytes, i);
        LF_UNROLL
        for (int k = 0; k < R; ++k) {
            const __m512 xv = _mm512_loadu_ps(x + k * n + i);
            LF_UNROLL
            for (int j = 0; j < W; ++j) acc[j][k] = _mm512_fmadd_ps(wv[j], xv, acc[j][k]);
        }
    }
    if (i < n) {
        const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
        __m512 wv[W];
        LF_UNROLL
        for (int j = 0; j < W; ++j) wv[j] = load16_masked<T>(wrow + j * wrow_bytes, i, m);
        LF_UNROLL
        for (int k = 0; k < R; ++k) {
            const __m512 xv = _mm512_maskz_loadu_ps(m, x + k * n + i);
            LF_UNROLL
            for (int j = 0; j < W; ++j) acc[j][k] = _mm512_fmadd_ps(wv[j], xv, acc[j][k]);
        }
    }
    LF_UNROLL
    for (int j = 0; j < W; ++j)
        LF_UNROLL
        for (int k = 0; k < R; ++k) out[j * R + k] = _mm512_reduce_add_ps(acc[j][k]);
}

// Up to 16 accumulators: 4x4 tiles, so each activation load serves 4 weight rows (activation
// rows stream from L2 once per 4 outputs).
struct float_tiles {
    static constexpr int max_r = 4;
    static constexpr int w_for_r[9] = {0, 4, 4, 4, 4, 0, 0, 0, 0};
    template <int W, int R>
    LF_AVX512 static void run(const matmul_job& job, const uint8_t* wrow, size_t wrow_bytes, int64_t r0, float* out) {
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

void avx512_dot_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    switch (job.w.type) {
        case dtype::q4_0: return quant_rows<block_q4_0>(job, o0, o1);
        case dtype::q8_0: return quant_rows<block_q8_0>(job, o0, o1);
        default: return dot_rows_tiled(job, o0, o1, k_float_tiles);
    }
}

}  // namespace

const matmul_kernels k_avx512_kernels = {q8_pair_bytes, avx512_quantize_act, q8_pair_to_q8_0, avx512_dot_rows};

}  // namespace lf::cpu
#endif  // __x86_64__
