// AVX2+FMA+F16C matmul kernels (x86-64). Every function here carries its own target attribute, so
// the file builds into a portable binary and only runs when the driver has checked the CPU.
//
// Quantized weights: the AVX-512 design (see matmul-avx512.cpp) eight lanes wide. One weight
// row at a time, eight blocks per step, one block per 32-bit lane: the blocks' bytes are
// transposed on the fly (4x4 dword transposes of 128-bit loads) to match the activation's
// q8_lanes<8> records; maddubs/madd leave each block's exact integer sum in its lane, and one FMA
// per 8 blocks adds sum * (d_w * d_x) into a per-(weight row, activation row) accumulator, with
// one fixed horizontal sum at the end - the same sequence in every tile, so results do not
// depend on the batch. q4_0: maddubs(nibble 0..15, x) pairs are at most 3810, so the eight
// registers of a block add up in int16 without overflow (<= 30480) before one widening; the
// 8 * (sum of x) excess is the lane's starting bias. q8_0: ggml's sign trick, maddubs(|w|,
// sign(x, w)), widened every register (no excess). Scales come from scalar loads, except a full
// q4_0 group's eight: four 32-byte loads and one byte shuffle (q4_scales). Each maddubs takes
// one 32-byte activation load, and those loads bound a tile of several activation rows
// (BENCHMARKS.md, "On an AVX2-only machine"). With three or four activation rows, q4_0 tiles take
// two weight rows that share each load; sixteen ymm registers then hold the weights packed and
// the float accumulators stay in memory (q4_pair_tile).
// Float weights: 4x2 or 2x4 tiles of weight x activation rows, 8-wide FMAs (tolerance vs. the
// reference).
#include "kernels/cpu/matmul-impl.h"

#if defined(__x86_64__)
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <type_traits>

#include "core/error.h"
#include "kernels/cpu/q4-x8.h"
#include "kernels/cpu/q8-x8.h"

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

// maddubs multiplies unsigned weights: q4_0 nibbles stand for q + 8; q8_0 uses the sign trick.
int avx2_excess(dtype wtype) { return wtype == dtype::q4_0 ? 8 : 0; }

// Eight quantized blocks (qs: int8 [8, 32], zeros past the row's end; d, sum: their scales and
// value sums, 0 past the end) into one record, in registers: an 8x8 transpose of 32-bit
// words, so x[t] lane b = values 4t..4t+3 of block b (AVX2 keeps block order).
LF_AVX2_INLINE void pack_group(const int8_t (*qs)[32], const float* d, const int32_t* sum, int excess, q8_lanes<8>& o) {
    __m256i r[8], a[8], b[8];
    LF_UNROLL
    for (int k = 0; k < 8; ++k) r[k] = _mm256_load_si256(reinterpret_cast<const __m256i*>(qs[k]));
    LF_UNROLL
    for (int k = 0; k < 8; k += 2) {  // a: pairs of blocks' words interleaved
        a[k] = _mm256_unpacklo_epi32(r[k], r[k + 1]);
        a[k + 1] = _mm256_unpackhi_epi32(r[k], r[k + 1]);
    }
    LF_UNROLL
    for (int k = 0; k < 8; k += 4) {  // b: four blocks' words 0/1/2/3 (+4 in the high half)
        b[k] = _mm256_unpacklo_epi64(a[k], a[k + 2]);
        b[k + 1] = _mm256_unpackhi_epi64(a[k], a[k + 2]);
        b[k + 2] = _mm256_unpacklo_epi64(a[k + 1], a[k + 3]);
        b[k + 3] = _mm256_unpackhi_epi64(a[k + 1], a[k + 3]);
    }
    LF_UNROLL
    for (int t = 0; t < 4; ++t) {  // low halves: words 0..3, high halves: words 4..7
        _mm256_store_si256(reinterpret_cast<__m256i*>(o.x[t]), _mm256_permute2x128_si256(b[t], b[t + 4], 0x20));
        _mm256_store_si256(reinterpret_cast<__m256i*>(o.x[t + 4]), _mm256_permute2x128_si256(b[t], b[t + 4], 0x31));
    }
    _mm256_store_si256(reinterpret_cast<__m256i*>(o.bias),
                       _mm256_mullo_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(sum)), _mm256_set1_epi32(-excess)));
    _mm256_store_ps(o.d, _mm256_loadu_ps(d));
}

LF_AVX2 void avx2_quantize_act(dtype wtype, const float* x, int64_t n_rows, int64_t n_in, int64_t row0,
                               int64_t row1, void* xq) {
    const int64_t nb = n_in / qk8_0, ng = q8_lanes_per_row<8>(n_in);
    for (int64_t r = row0; r < row1; ++r) {
        auto* out = static_cast<q8_lanes<8>*>(xq) + r * ng;
        const float* xr = x + r * n_in;
        for (int64_t g = 0; g < ng; ++g) {
            alignas(32) int8_t qs[8][32];  // int8 [8 blocks, 32]
            float d[8];
            int32_t sum[8];
            const int n_valid = static_cast<int>(std::min<int64_t>(8, nb - 8 * g));
            for (int b = 0; b < n_valid; ++b) quantize_block(xr + (8 * g + b) * qk8_0, qs[b], &sum[b], &d[b]);
            for (int b = n_valid; b < 8; ++b) {
                std::memset(qs[b], 0, sizeof(qs[b]));
                d[b] = 0.0f;
                sum[b] = 0;
            }
            pack_group(qs, d, sum, avx2_excess(wtype), out[g]);
        }
    }
}

void avx2_act_to_q8_0(dtype wtype, const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out) {
    q8_lanes_to_q8_0<8>(avx2_excess(wtype), xq, n_rows, n_in, r, out);
}

// ---- quantized weights ------------------------------------------------------------------------

// Eight consecutive blocks of a weight row: q[t] lane b = block b's weights for elements
// 4t..4t+3 (q4_0: unsigned nibbles; q8_0: signed bytes), d lane b = block b's scale.
struct wgroup {
    __m256i q[8];
    __m256 d;
};

// In-lane 4x4 transpose of 32-bit elements across four registers.
LF_AVX2_INLINE void transpose4(const __m256i z[4], __m256i t[4]) {
    const __m256i a = _mm256_unpacklo_epi32(z[0], z[1]), b = _mm256_unpackhi_epi32(z[0], z[1]);
    const __m256i c = _mm256_unpacklo_epi32(z[2], z[3]), d = _mm256_unpackhi_epi32(z[2], z[3]);
    t[0] = _mm256_unpacklo_epi64(a, c);
    t[1] = _mm256_unpackhi_epi64(a, c);
    t[2] = _mm256_unpacklo_epi64(b, d);
    t[3] = _mm256_unpackhi_epi64(b, d);
}

// Sixteen bytes at p of blocks b = 0..7 (block b at p + b * bs), transposed: t[k] lane b = dword
// k of block b's sixteen bytes (register q holds blocks q and q+4). With Half, only blocks 0..3
// are read and lanes 4..7 are zero.
template <bool Half>
LF_AVX2_INLINE void load_transposed(const uint8_t* p, size_t bs, __m256i t[4]) {
    __m256i z[4];
    LF_UNROLL
    for (int q = 0; q < 4; ++q) {
        const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + q * bs));
        if constexpr (Half) z[q] = _mm256_zextsi128_si256(lo);
        else z[q] = _mm256_inserti128_si256(_mm256_castsi128_si256(lo),
                                            _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + (q + 4) * bs)), 1);
    }
    transpose4(z, t);
}

// The f16 scales at p + b * bs (b < n, at most 8; the rest 0) as f32 lanes.
template <int N>
LF_AVX2_INLINE __m256 load_scales(const uint8_t* p, size_t bs) {
    uint64_t part[2] = {0, 0};
    LF_UNROLL
    for (int b = 0; b < N; ++b) {
        uint16_t d;
        std::memcpy(&d, p + b * bs, 2);
        part[b / 4] |= static_cast<uint64_t>(d) << (16 * (b % 4));
    }
    return _mm256_cvtph_ps(_mm_set_epi64x(static_cast<long long>(part[1]), static_cast<long long>(part[0])));
}

// The eight f16 scales of a full q4_0 group (block b's at byte 18b) from four 32-byte loads
// instead of eight scalar ones: in the 32 bytes from 32m, blocks 2m and 2m + 1 have theirs in
// dword m of the low and of the high 128-bit lane (bytes 4m and 16 + 4m + 2).
LF_AVX2_INLINE __m256 q4_scales(const uint8_t* p) {
    const auto* w = reinterpret_cast<const __m256i*>(p);
    __m256i v = _mm256_blend_epi32(_mm256_loadu_si256(w), _mm256_loadu_si256(w + 1), 0x22);
    v = _mm256_blend_epi32(v, _mm256_loadu_si256(w + 2), 0x44);
    v = _mm256_blend_epi32(v, _mm256_loadu_si256(w + 3), 0x88);
    // Low lane: words 0, 2, 4, 6 (blocks 0, 2, 4, 6); high lane: words 1, 3, 5, 7 (blocks 1, 3, 5, 7).
    const __m256i pick = _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1,
                                          2, 3, 6, 7, 10, 11, 14, 15, -1, -1, -1, -1, -1, -1, -1, -1);
    v = _mm256_shuffle_epi8(v, pick);
    return _mm256_cvtph_ps(_mm_unpacklo_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1)));
}

// A q4_0 group's weights from its packed bytes t (as load_transposed leaves them).
LF_AVX2_INLINE void split_nibbles(const __m256i (&t)[4], wgroup& g) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    LF_UNROLL
    for (int k = 0; k < 4; ++k) {
        g.q[k] = _mm256_and_si256(t[k], m4);                            // elements 4k..4k+3
        g.q[k + 4] = _mm256_and_si256(_mm256_srli_epi16(t[k], 4), m4);  // elements 16+4k..
    }
}

template <bool Half = false>
LF_AVX2_INLINE void load_group(const block_q4_0*, const uint8_t* p, wgroup& g) {
    __m256i t[4];
    load_transposed<Half>(p + 2, 18, t);
    split_nibbles(t, g);
    g.d = Half ? load_scales<4>(p, 18) : q4_scales(p);
}

template <bool Half = false>
LF_AVX2_INLINE void load_group(const block_q8_0*, const uint8_t* p, wgroup& g) {
    load_transposed<Half>(p + 2, 34, g.q);
    load_transposed<Half>(p + 18, 34, g.q + 4);
    g.d = load_scales<Half ? 4 : 8>(p, 34);
}

// The last group of a row with fewer than 8 blocks: 4 are read directly, other counts through a
// zeroed copy (missing blocks are weight 0 and scale 0, times activation 0).
template <typename Block>
LF_AVX2_INLINE void load_group_tail(const uint8_t* p, int n_blocks, wgroup& g) {
    if (n_blocks == 4) return load_group<true>(static_cast<const Block*>(nullptr), p, g);
    alignas(32) uint8_t buf[8 * sizeof(Block)];
    std::memset(buf, 0, sizeof(buf));
    std::memcpy(buf, p, static_cast<size_t>(n_blocks) * sizeof(Block));
    load_group(static_cast<const Block*>(nullptr), buf, g);
}

// One group of one weight row times R activation rows: each lane's exact block sum, then
// acc += sum * (d_w * d_x).
template <typename Block, int R>
LF_AVX2_INLINE void quant_step(__m256 (&acc)[R], const wgroup& g, const q8_lanes<8>* x, int64_t x_stride, int64_t i) {
    const __m256i ones = _mm256_set1_epi16(1);
    LF_UNROLL
    for (int k = 0; k < R; ++k) {
        const q8_lanes<8>& a = x[k * x_stride + i];
        __m256i s;
        if constexpr (std::is_same_v<Block, block_q4_0>) {
            __m256i s16 = _mm256_maddubs_epi16(g.q[0], _mm256_load_si256(reinterpret_cast<const __m256i*>(a.x[0])));
            LF_UNROLL
            for (int t = 1; t < 8; ++t)
                s16 = _mm256_add_epi16(s16, _mm256_maddubs_epi16(g.q[t], _mm256_load_si256(reinterpret_cast<const __m256i*>(a.x[t]))));
            s = _mm256_add_epi32(_mm256_madd_epi16(s16, ones), _mm256_load_si256(reinterpret_cast<const __m256i*>(a.bias)));
        } else {
            s = _mm256_setzero_si256();
            LF_UNROLL
            for (int t = 0; t < 8; ++t) {
                const __m256i xt = _mm256_load_si256(reinterpret_cast<const __m256i*>(a.x[t]));
                const __m256i p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(g.q[t], g.q[t]), _mm256_sign_epi8(xt, g.q[t]));
                s = _mm256_add_epi32(s, _mm256_madd_epi16(p16, ones));
            }
        }
        acc[k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(g.d, _mm256_load_ps(a.d)), acc[k]);
    }
}

// One weight row times R activation rows into out[k]. One weight row per tile, so each thread
// reads one sequential stream of weight rows (the memory system serves that fastest; see the
// AVX-512 kernels).
template <typename Block, int R>
LF_AVX2 void quant_tile(const uint8_t* w, size_t rb, int64_t nb, const q8_lanes<8>* x, int64_t x_stride, float* out) {
    constexpr size_t gb = 8 * sizeof(Block);  // bytes per group of 8 blocks
    const int64_t ng = (nb + 7) / 8, n_full = nb / 8;
    __m256 acc[R];
    LF_UNROLL
    for (int k = 0; k < R; ++k) acc[k] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n_full; ++i) {
        const uint8_t* p = w + i * gb;
        prefetch_rows_ahead<gb>(p, rb);
        wgroup g;
        load_group(static_cast<const Block*>(nullptr), p, g);
        quant_step<Block, R>(acc, g, x, x_stride, i);
    }
    if (n_full < ng) {
        wgroup g;
        load_group_tail<Block>(w + n_full * gb, static_cast<int>(nb - 8 * n_full), g);
        quant_step<Block, R>(acc, g, x, x_stride, n_full);
    }
    LF_UNROLL
    for (int k = 0; k < R; ++k) out[k] = hsum(acc[k]);
}

// One group of two q4_0 weight rows times P activation rows (a, a + x_stride, ...), the work
// of both pair tiles. packed(h, k) gives register k of both rows' packed bytes as
// load_transposed leaves them (row 0's and row 1's), for the low (h = 0) and high nibbles; each
// activation load serves both rows. The accumulator of (weight row j, activation row r) lives
// in acc_j[r] in memory: one load and one store per group, and quant_step's FMA.
template <int P, typename Packed>
LF_AVX2_INLINE void q4_pair_group(Packed packed, const q8_lanes<8>* a, int64_t x_stride, const float (*dw)[8],
                                  float (*acc0)[8], float (*acc1)[8]) {
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256i s0[P], s1[P];  // int16 [16]: pair sums of weight row 0 / 1 with activation row r
    LF_UNROLL
    for (int h = 0; h < 2; ++h) {  // h = 0: low nibbles, elements 4k..4k+3; h = 1: 16 + 4k..
        LF_UNROLL
        for (int k = 0; k < 4; ++k) {
            const auto [t0, t1] = packed(h, k);
            const __m256i w0 = _mm256_and_si256(h ? _mm256_srli_epi16(t0, 4) : t0, m4);
            const __m256i w1 = _mm256_and_si256(h ? _mm256_srli_epi16(t1, 4) : t1, m4);
            LF_UNROLL
            for (int r = 0; r < P; ++r) {
                __m256i x = _mm256_load_si256(reinterpret_cast<const __m256i*>(a[r * x_stride].x[4 * h + k]));
                opaque(x);
                const __m256i p0 = _mm256_maddubs_epi16(w0, x), p1 = _mm256_maddubs_epi16(w1, x);
                s0[r] = h == 0 && k == 0 ? p0 : _mm256_add_epi16(s0[r], p0);
                s1[r] = h == 0 && k == 0 ? p1 : _mm256_add_epi16(s1[r], p1);
                opaque(s0[r]);
                opaque(s1[r]);
            }
        }
    }
    const __m256i ones = _mm256_set1_epi16(1);
    LF_UNROLL
    for (int r = 0; r < P; ++r) {
        const q8_lanes<8>& ar = a[r * x_stride];
        const __m256i bias = _mm256_load_si256(reinterpret_cast<const __m256i*>(ar.bias));
        const __m256 dx = _mm256_load_ps(ar.d);
        const __m256i v0 = _mm256_add_epi32(_mm256_madd_epi16(s0[r], ones), bias);
        const __m256i v1 = _mm256_add_epi32(_mm256_madd_epi16(s1[r], ones), bias);
        _mm256_store_ps(acc0[r], _mm256_fmadd_ps(_mm256_cvtepi32_ps(v0), _mm256_mul_ps(_mm256_load_ps(dw[0]), dx),
                                                 _mm256_load_ps(acc0[r])));
        _mm256_store_ps(acc1[r], _mm256_fmadd_ps(_mm256_cvtepi32_ps(v1), _mm256_mul_ps(_mm256_load_ps(dw[1]), dx),
                                                 _mm256_load_ps(acc1[r])));
    }
}

// Register k of a pair's packed bytes, for q4_pair_group: held in registers (GGUF layout), or
// loaded from a packed group at p (q4-x8.h) each time it is asked for.
struct reg_pair {
    __m256i r0, r1;
};
struct held_pair {
    const __m256i* t0;
    const __m256i* t1;
    LF_AVX2_INLINE reg_pair operator()(int, int k) const { return {t0[k], t1[k]}; }
};
struct loaded_pair {
    const uint8_t* p;
    LF_AVX2_INLINE reg_pair operator()(int, int k) {
        // GCC would keep the low half's loads in registers for the high half and spill the sums.
        if (k == 0) asm("" : "+r"(p));
        return {_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * k)),
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + k_q4_0_x8_group_bytes + 32 * k))};
    }
};

// A pass of the GGUF-layout pair tile: the packed bytes of both rows are held in registers
// (t0, t1), so every pass unpacks the nibbles again.
template <int P>
LF_AVX2_INLINE void q4_pair_pass(__m256i (&t0)[4], __m256i (&t1)[4], const q8_lanes<8>* a, int64_t x_stride,
                                 const float (*dw)[8], float (*acc0)[8], float (*acc1)[8]) {
    LF_UNROLL
    for (int k = 0; k < 4; ++k) {
        opaque(t0[k]);
        opaque(t1[k]);
    }
    q4_pair_group<P>(held_pair{t0, t1}, a, x_stride, dw, acc0, acc1);
}

// Two consecutive q4_0 weight rows (w, w + rb) times R = 3 or 4 activation rows into
// out[j * R + k], in passes of two activation rows and then the rest. Each row's result has the
// bits of quant_tile's: the same exact block sums, the same FMA per group in the same order, the
// same reduction. Half the activation loads of two quant_tile calls: one core, n_in 1536, four
// rows from memory, 738 against 810-814 us (BENCHMARKS.md). Two rows are left to quant_tile, where
// from memory the pair ran slower (697 against 534 us).
template <int R>
LF_AVX2 void q4_pair_tile(const uint8_t* w, size_t rb, int64_t nb, const q8_lanes<8>* x, int64_t x_stride, float* out) {
    static_assert(R == 3 || R == 4);
    constexpr size_t gb = 8 * sizeof(block_q4_0);
    const int64_t ng = (nb + 7) / 8, n_full = nb / 8;
    alignas(32) float acc[2][R][8] = {};  // [weight row][activation row][lane]
    alignas(32) float dw[2][8];           // the group's scales, per weight row
    for (int64_t i = 0; i < n_full; ++i) {
        const uint8_t* p0 = w + i * gb;
        const uint8_t* p1 = p0 + rb;
        prefetch_rows_ahead<gb>(p0, rb);
        prefetch_rows_ahead<gb>(p1, rb);
        __m256i t0[4], t1[4];
        load_transposed<false>(p0 + 2, 18, t0);
        load_transposed<false>(p1 + 2, 18, t1);
        _mm256_store_ps(dw[0], q4_scales(p0));
        _mm256_store_ps(dw[1], q4_scales(p1));
        q4_pair_pass<2>(t0, t1, x + i, x_stride, dw, acc[0], acc[1]);
        q4_pair_pass<R - 2>(t0, t1, x + 2 * x_stride + i, x_stride, dw, acc[0] + 2, acc[1] + 2);
    }
    LF_UNROLL
    for (int j = 0; j < 2; ++j) {
        __m256 a[R];
        LF_UNROLL
        for (int k = 0; k < R; ++k) a[k] = _mm256_load_ps(acc[j][k]);
        if (n_full < ng) {  // the row's last, partial group as quant_tile takes it
            wgroup g;
            load_group_tail<block_q4_0>(w + j * rb + n_full * gb, static_cast<int>(nb - 8 * n_full), g);
            quant_step<block_q4_0, R>(a, g, x, x_stride, n_full);
        }
        LF_UNROLL
        for (int k = 0; k < R; ++k) out[j * R + k] = hsum(a[k]);
    }
}

// ---- q4_0 packed at load time (q4-x8.h) --------------------------------------------------------
// The same sums over rows whose groups are already transposed: four 32-byte loads of nibbles and
// one of eight f16 scales per group, where the GGUF layout takes eight unaligned loads, a
// transpose and a shuffle. The same values in the same lanes, so the same bits as quant_tile.

// The eight scales of a packed group (q4-x8.h) at p, as f32 lanes.
LF_AVX2_INLINE __m256 x8_scales(const uint8_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k_q4_0_x8_scales_at)));
}

// A packed group at p: nibbles at p, then its scales.
LF_AVX2_INLINE void load_group_x8(const uint8_t* p, wgroup& g) {
    __m256i t[4];
    LF_UNROLL
    for (int k = 0; k < 4; ++k) t[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * k));
    split_nibbles(t, g);
    g.d = x8_scales(p);
}

// The unpaired last row of a packed matrix with an odd number of rows (groups one after the
// other) times R activation rows.
template <int R>
LF_AVX2 void x8_tile(const uint8_t* w, size_t rb, int64_t nb, const q8_lanes<8>* x, int64_t x_stride, float* out) {
    constexpr size_t gb = k_q4_0_x8_group_bytes;
    const int64_t ng = nb / 8;
    __m256 acc[R];
    LF_UNROLL
    for (int k = 0; k < R; ++k) acc[k] = _mm256_setzero_ps();
    for (int64_t i = 0; i < ng; ++i) {
        prefetch_rows_ahead<gb>(w + gb * i, rb);
        wgroup g;
        load_group_x8(w + gb * i, g);
        quant_step<block_q4_0, R>(acc, g, x, x_stride, i);
    }
    LF_UNROLL
    for (int k = 0; k < R; ++k) out[k] = hsum(acc[k]);
}

// A pair of packed rows (at w, their groups interleaved) times R activation rows into
// out[j * R + k], in one pass per group. The pair's bytes are read in one ascending sweep, which
// memory streams as fast as one row (two rows read side by side, as q4_pair_tile does, come
// slower: BENCHMARKS.md). The nibbles are loaded again from L1 for the high half instead of
// being held, which leaves the sixteen registers to the 2R int16 sums.
template <int R>
LF_AVX2 void x8_pair_tile(const uint8_t* w, size_t rb, int64_t nb, const q8_lanes<8>* x, int64_t x_stride,
                          float* out) {
    constexpr size_t gb = k_q4_0_x8_group_bytes;
    const int64_t ng = nb / 8;
    alignas(32) float acc[2][R][8] = {};  // [weight row][activation row][lane]
    alignas(32) float dw[2][8];           // the group's scales, per weight row
    for (int64_t i = 0; i < ng; ++i) {
        const uint8_t* p = w + 2 * gb * i;
        prefetch_rows_ahead<2 * gb>(p, rb);
        _mm256_store_ps(dw[0], x8_scales(p));
        _mm256_store_ps(dw[1], x8_scales(p + gb));
        q4_pair_group<R>(loaded_pair{p}, x + i, x_stride, dw, acc[0], acc[1]);
    }
    LF_UNROLL
    for (int j = 0; j < 2; ++j)
        LF_UNROLL
        for (int k = 0; k < R; ++k) out[j * R + k] = hsum(_mm256_load_ps(acc[j][k]));
}

// ---- q8_0 packed at load time (q8-x8.h) --------------------------------------------------------
// quant_step's sums over rows whose groups are already transposed: no transposes and no scalar
// loads of scales, about a third fewer instructions than quant_tile at four rows. Each weight
// register is loaded when it is used and serves all R activation rows, so the tile holds only
// the R lane sums and R accumulators. The same values in the same lanes and the same FMA per
// group, so the same bits as quant_tile.

// |w| and x with w's sign for register t. `sign` runs on the two ports of maddubs and madd, xor
// and subtract with w's sign mask on the others, so odd registers take the second form and
// both sets of ports stay busy (one core, 1536 x 512 in cache, 4 rows: 70.0-70.6 against
// 74.2-74.4 us with `sign` alone; BENCHMARKS.md). Where w is 0 both give a product of 0, so the
// sums are the same.
struct q8_signer {
    __m256i q, m;  // the weights; odd registers: their sign mask (w < 0)
    bool by_mask;
    LF_AVX2_INLINE q8_signer(__m256i w, int t)
        : q(w), m(t % 2 ? _mm256_cmpgt_epi8(_mm256_setzero_si256(), w) : w), by_mask(t % 2 != 0) {}
    LF_AVX2_INLINE __m256i signed_like_w(__m256i v) const {
        return by_mask ? _mm256_sub_epi8(_mm256_xor_si256(v, m), m) : _mm256_sign_epi8(v, q);
    }
};

template <int R>
LF_AVX2 void q8x8_tile(const uint8_t* w, size_t rb, int64_t nb, const q8_lanes<8>* x, int64_t x_stride, float* out) {
    constexpr size_t gb = k_q8_0_x8_group_bytes;
    const int64_t ng = nb / 8;
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[R];
    LF_UNROLL
    for (int k = 0; k < R; ++k) acc[k] = _mm256_setzero_ps();
    for (int64_t i = 0; i < ng; ++i) {
        const uint8_t* p = w + gb * i;
        prefetch_rows_ahead<gb>(p, rb);
        __m256i s[R];  // int32 [8]: the block sums of activation row r
        LF_UNROLL
        for (int t = 0; t < 8; ++t) {
            const q8_signer sg(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * t)), t);
            const __m256i aw = sg.signed_like_w(sg.q);  // |w|
            LF_UNROLL
            for (int r = 0; r < R; ++r) {
                const __m256i xt = _mm256_load_si256(reinterpret_cast<const __m256i*>(x[r * x_stride + i].x[t]));
                const __m256i v = _mm256_madd_epi16(_mm256_maddubs_epi16(aw, sg.signed_like_w(xt)), ones);
                s[r] = t == 0 ? v : _mm256_add_epi32(s[r], v);
            }
        }
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k_q8_0_x8_scales_at)));
        LF_UNROLL
        for (int r = 0; r < R; ++r)
            acc[r] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[r]), _mm256_mul_ps(dw, _mm256_load_ps(x[r * x_stride + i].d)), acc[r]);
    }
    LF_UNROLL
    for (int k = 0; k < R; ++k) out[k] = hsum(acc[k]);
}

// ---- driver --------------------------------------------------------------------------------------

using quant_tile_fn = void (*)(const uint8_t*, size_t, int64_t, const q8_lanes<8>*, int64_t, float*);

constexpr int k_tile_r = 4;  // activation rows per weight-row pass

// The tiles of one weight layout: one[n - 1] takes one weight row and n activation rows;
// pair[n - 1], where present, two weight rows and n activation rows.
struct quant_tile_set {
    quant_tile_fn one[k_tile_r];
    quant_tile_fn pair[k_tile_r];
};

// Three or four activation rows: two weight rows per tile share the activation loads.
constexpr quant_tile_set k_q4_0_tiles = {
    {&quant_tile<block_q4_0, 1>, &quant_tile<block_q4_0, 2>, &quant_tile<block_q4_0, 3>, &quant_tile<block_q4_0, 4>},
    {nullptr, nullptr, &q4_pair_tile<3>, &q4_pair_tile<4>}};
// Packed rows come in pairs (q4-x8.h): every pair takes a pair tile, the last row of an odd
// count a one-row tile.
constexpr quant_tile_set k_q4_0_x8_tiles = {{&x8_tile<1>, &x8_tile<2>, &x8_tile<3>, &x8_tile<4>},
                                            {&x8_pair_tile<1>, &x8_pair_tile<2>, &x8_pair_tile<3>, &x8_pair_tile<4>}};
constexpr quant_tile_set k_q8_0_x8_tiles = {{&q8x8_tile<1>, &q8x8_tile<2>, &q8x8_tile<3>, &q8x8_tile<4>},
                                            {nullptr, nullptr, nullptr, nullptr}};
constexpr quant_tile_set k_q8_0_tiles = {
    {&quant_tile<block_q8_0, 1>, &quant_tile<block_q8_0, 2>, &quant_tile<block_q8_0, 3>, &quant_tile<block_q8_0, 4>},
    {nullptr, nullptr, nullptr, nullptr}};

LF_AVX2 void quant_rows(const matmul_job& job, int64_t o0, int64_t o1, const quant_tile_set& tiles) {
    const weight_view& w = job.w;
    LF_CHECK(w.layout != weight_layout::q4_0_x8 || o0 % 2 == 0);  // packed pairs are not split
    const size_t rb = row_bytes(w.type, w.n_in);
    const int64_t nb = w.n_in / qk8_0, ng = q8_lanes_per_row<8>(w.n_in);
    const auto* xq = static_cast<const q8_lanes<8>*>(job.xq);
    float out[2 * k_tile_r];
    for (int64_t t0 = 0; t0 < job.n_rows; t0 += k_act_rows) {
        const int64_t t1 = std::min(job.n_rows, t0 + k_act_rows);
        for (int64_t r = t0; r < t1;) {
            const int n_r = static_cast<int>(std::min<int64_t>(k_tile_r, t1 - r));
            int64_t o = o0;
            if (const quant_tile_fn pair = tiles.pair[n_r - 1])
                for (; o + 2 <= o1; o += 2) {
                    const uint8_t* wrow = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(o) * rb;
                    pair(wrow, rb, nb, xq + r * ng, ng, out);
                    for (int j = 0; j < 2; ++j)
                        for (int k = 0; k < n_r; ++k) job.y[(r + k) * w.n_out + o + j] = out[j * n_r + k];
                }
            for (; o < o1; ++o) {
                const uint8_t* wrow = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(o) * rb;
                tiles.one[n_r - 1](wrow, rb, nb, xq + r * ng, ng, out);
                for (int k = 0; k < n_r; ++k) job.y[(r + k) * w.n_out + o] = out[k];
            }
            r += n_r;
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
            __m256 xv = _mm256_loadu_ps(x + k * n + i);
            opaque(xv);  // one load for the W weight rows: GCC would fold one into each FMA
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

// Sixteen ymm registers: 4x2 or 2x4 tiles, at most 8 accumulators. A single activation row
// (decode) takes one weight row at a time: one sequential stream of weights, which memory serves
// faster than four (f16 [8960, 1536] at 1 row: 650-760 against 850-870 us on 2 threads), with
// the same bits.
struct float_tiles {
    static constexpr int max_r = 4;
    static constexpr int w_for_r[9] = {0, 1, 4, 2, 2, 0, 0, 0, 0};
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
        case dtype::q4_0:
            return quant_rows(job, o0, o1, job.w.layout == weight_layout::q4_0_x8 ? k_q4_0_x8_tiles : k_q4_0_tiles);
        case dtype::q8_0:
            return quant_rows(job, o0, o1, job.w.layout == weight_layout::q8_0_x8 ? k_q8_0_x8_tiles : k_q8_0_tiles);
        default: return dot_rows_tiled(job, o0, o1, k_float_tiles);
    }
}

}  // namespace

const matmul_kernels k_avx2_kernels = {q8_lanes_bytes<8>, avx2_quantize_act, avx2_act_to_q8_0, avx2_dot_rows};

}  // namespace lf::cpu
#endif  // __x86_64__
