// AVX-512 (F, BW, VL, DQ) + VNNI matmul kernels (x86-64). Every function carries its own target
// attribute; the driver runs them only on CPUs that have all of these.
//
// Quantized weights: sixteen output rows share one register, one row per 32-bit lane. For each
// block the sixteen rows' bytes are transposed on the fly (4x4 dword transposes), so lane j of
// register t holds row j's weights for elements 4t..4t+3; an activation block is then applied
// with eight dpbusd, each broadcasting four activation bytes from memory. Every lane accumulates
// one row's whole block sum in an exact int32, and the float work (convert, two scales, add) is
// one instruction per sixteen outputs. The lane sequence - exact block sum, (sum * d_w) * d_x,
// added block after block - is the scalar reference's, so results are bit-identical to it.
//   dpbusd multiplies unsigned by signed bytes: q4_0 nibbles are used as they are (0..15) and
//   q8_0 weights shifted to w + 128; the excess, 8 or 128 times the activation block sum, is
//   subtracted through the accumulator's start value.
// The weight tile is unpacked once for up to 8 activation rows.
// Float weights: 4x4 tiles of weight x activation rows, 16-wide FMAs (tolerance vs. the
// reference).
#include "kernels/cpu/matmul-impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <cstring>

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

constexpr int k_tile_out = 16;  // output rows per quantized tile (one per lane)
constexpr int k_tile_act = 8;   // activation rows per quantized tile

// ---- activation quantization ------------------------------------------------------------------

// roundf (half away from zero): truncate, then step away from zero when the dropped fraction
// (exact: v - trunc(v)) is at least one half.
LF_AVX512_INLINE __m512 round_half_away(__m512 v) {
    const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_sub_ps(v, t)), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
    const __m512 step = _mm512_or_ps(_mm512_and_ps(v, _mm512_set1_ps(-0.0f)), _mm512_set1_ps(1.0f));
    return _mm512_mask_add_ps(t, up, t, step);
}

// One q8_0 block with ggml's reference rounding (d = amax/127, q = roundf(x * (1/d))).
LF_AVX512_INLINE void quantize_block(const float* x, int8_t* qs, int32_t* sum, float* d_out) {
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
    *sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    *d_out = _cvtsh_ss(static_cast<unsigned short>(_cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT)));
}

LF_AVX512 void avx512_quantize_act(const float* x, int64_t n_rows, int64_t n_in, int64_t row0,
                                   int64_t row1, void* xq) {
    const q8_act a = q8_act_at(xq, n_rows, n_in);
    const int64_t nb = n_in / qk8_0;
    for (int64_t r = row0; r < row1; ++r)
        for (int64_t ib = 0; ib < nb; ++ib)
            quantize_block(x + r * n_in + ib * qk8_0, a.qs + (ib * n_rows + r) * qk8_0, a.sum + ib * n_rows + r,
                           a.d + ib * n_rows + r);
}

// ---- quantized weights ------------------------------------------------------------------------

// In-lane 4x4 transpose of 32-bit elements across four registers: afterwards t[k] holds, in
// each 128-bit lane, element k of the four inputs' same lane.
LF_AVX512_INLINE void transpose4(const __m512i z[4], __m512i t[4]) {
    const __m512i a = _mm512_unpacklo_epi32(z[0], z[1]), b = _mm512_unpackhi_epi32(z[0], z[1]);
    const __m512i c = _mm512_unpacklo_epi32(z[2], z[3]), d = _mm512_unpackhi_epi32(z[2], z[3]);
    t[0] = _mm512_unpacklo_epi64(a, c);
    t[1] = _mm512_unpackhi_epi64(a, c);
    t[2] = _mm512_unpacklo_epi64(b, d);
    t[3] = _mm512_unpackhi_epi64(b, d);
}

// Sixteen bytes of each of 16 rows (row j at p + j * rb), transposed: lane j of t[k] = row j's
// bytes 4k..4k+3. Register q holds rows q, 4+q, 8+q, 12+q in its 128-bit lanes, so after the
// in-lane transpose lane 4i+q is row 4i+q. Offsets are multiples of rb, 3rb, 5rb and 7rb from two
// bases, which x86 addressing expresses directly.
LF_AVX512_INLINE __m512i row4(const uint8_t* a, const uint8_t* b, const uint8_t* c, const uint8_t* d) {
    __m512i z = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)));
    z = _mm512_inserti32x4(z, _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)), 1);
    z = _mm512_inserti32x4(z, _mm_loadu_si128(reinterpret_cast<const __m128i*>(c)), 2);
    return _mm512_inserti32x4(z, _mm_loadu_si128(reinterpret_cast<const __m128i*>(d)), 3);
}

LF_AVX512_INLINE void load_transposed(const uint8_t* p, size_t rb, __m512i t[4]) {
    const uint8_t* p8 = p + 8 * rb;
    const size_t r3 = 3 * rb, r5 = 5 * rb, r7 = 7 * rb;
    const __m512i z[4] = {row4(p, p + 4 * rb, p8, p8 + 4 * rb), row4(p + rb, p + r5, p8 + rb, p8 + r5),
                          row4(p + 2 * rb, p + 2 * r3, p8 + 2 * rb, p8 + 2 * r3), row4(p + r3, p + r7, p8 + r3, p8 + r7)};
    transpose4(z, t);
}

// Unsigned weight bytes of one block (starting at p in row 0) for the 16 rows: w[t] lane j =
// row j's elements 4t..4t+3. Returns how many times the activation block sum the products exceed
// the signed ones.
LF_AVX512_INLINE int unpack_block(const block_q4_0*, const uint8_t* p, size_t rb, __m512i w[8]) {
    __m512i t[4];
    load_transposed(p + 2, rb, t);
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    LF_UNROLL
    for (int k = 0; k < 4; ++k) {
        w[k] = _mm512_and_si512(t[k], m4);                            // elements 4k..4k+3
        w[k + 4] = _mm512_and_si512(_mm512_srli_epi16(t[k], 4), m4);  // elements 16+4k..
    }
    return 8;  // nibble q stands for q - 8
}
LF_AVX512_INLINE int unpack_block(const block_q8_0*, const uint8_t* p, size_t rb, __m512i w[8]) {
    load_transposed(p + 2, rb, w);
    load_transposed(p + 18, rb, w + 4);
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
    LF_UNROLL
    for (int k = 0; k < 8; ++k) w[k] = _mm512_xor_si512(w[k], flip);  // w + 128 as unsigned
    return 128;
}

LF_AVX512_INLINE __m512i broadcast4(const int8_t* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
}

// 16 output rows (row j at base + j * rb) times activation rows r0 .. r0+R-1; outputs j <
// n_valid are stored to y (f32 [n_rows, n_out], already offset to the tile's first output).
template <typename Block, int R>
LF_AVX512 void quant_tile(const uint8_t* base, size_t rb, int64_t nb, const q8_act& a, int64_t n_rows, int64_t r0,
                          float* y, int64_t n_out, int n_valid) {
    const __m512i row_offsets = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                   _mm512_set1_epi32(static_cast<int32_t>(rb)));
    __m512 acc[R];
    LF_UNROLL
    for (int k = 0; k < R; ++k) acc[k] = _mm512_setzero_ps();
    const int8_t* x = a.qs + r0 * 32;
    const int32_t* xs = a.sum + r0;
    const float* xd = a.d + r0;
    const uint8_t* p = base;
    for (int64_t ib = 0; ib < nb; ++ib) {
        __m512i w[8];
        const int excess = unpack_block(static_cast<const Block*>(nullptr), p, rb, w);
        // Scales: the first two bytes of each row's block (gathered as 32-bit, low half kept).
        const __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_i32gather_epi32(row_offsets, p, 1)));
        LF_UNROLL
        for (int k = 0; k < R; ++k) {
            __m512i s = _mm512_set1_epi32(-excess * xs[k]);
            LF_UNROLL
            for (int t = 0; t < 8; ++t) s = _mm512_dpbusd_epi32(s, w[t], broadcast4(x + 32 * k + 4 * t));
            // The reference's order: (float(sum) * d_w) * d_x, then added to the running sum.
            const __m512 f = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(s), dw), _mm512_set1_ps(xd[k]));
            acc[k] = _mm512_add_ps(acc[k], f);
        }
        p += sizeof(Block);
        x += n_rows * 32;
        xs += n_rows;
        xd += n_rows;
    }
    const __mmask16 keep = static_cast<__mmask16>((1u << n_valid) - 1);
    LF_UNROLL
    for (int k = 0; k < R; ++k) _mm512_mask_storeu_ps(y + (r0 + k) * n_out, keep, acc[k]);
}

template <typename Block>
LF_AVX512 void quant_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    const weight_view& w = job.w;
    const size_t rb = row_bytes(w.type, w.n_in);
    const int64_t nb = w.n_in / 32;
    const q8_act a = q8_act_at(job.xq, job.n_rows, w.n_in);
    // Activation rows in tiles of 32 (about 1 byte per element, in L2), output rows in tiles of
    // 16 whose weight blocks are unpacked once per group of up to 8 activation rows.
    for (int64_t t0 = 0; t0 < job.n_rows; t0 += 32) {
        const int64_t t1 = std::min(job.n_rows, t0 + 32);
        for (int64_t o = o0; o < o1; o += k_tile_out) {
            const int n_valid = static_cast<int>(std::min<int64_t>(k_tile_out, o1 - o));
            const uint8_t* rows = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(o) * rb;
            if (n_valid < k_tile_out) rows = padded_rows(rows, rb, n_valid, k_tile_out);
            float* y = job.y + o;
            for (int64_t r = t0; r < t1;) {
                switch (std::min<int64_t>(k_tile_act, t1 - r)) {
                    case 8: quant_tile<Block, 8>(rows, rb, nb, a, job.n_rows, r, y, w.n_out, n_valid); r += 8; break;
                    case 7: quant_tile<Block, 7>(rows, rb, nb, a, job.n_rows, r, y, w.n_out, n_valid); r += 7; break;
                    case 6: quant_tile<Block, 6>(rows, rb, nb, a, job.n_rows, r, y, w.n_out, n_valid); r += 6; break;
                    case 5: quant_tile<Block, 5>(rows, rb, nb, a, job.n_rows, r, y, w.n_out, n_valid); r += 5; break;
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

const matmul_kernels k_avx512_kernels = {q8_act_bytes, avx512_quantize_act, q8_act_to_q8_0, avx512_dot_rows};

}  // namespace lf::cpu
#endif  // __x86_64__
