// AArch64 NEON matmul kernels with the dot-product extension (sdot). Functions carry their own
// target attribute; the driver runs them only when the CPU reports asimddp.
//
// Quantized weights: four output rows share one register, one row per 32-bit lane. Each block's
// bytes of the four rows are transposed on the fly (4x4 transposes of 32-bit groups), so lane j
// of register t holds row j's signed weights for elements 4t..4t+3, and sdot-by-lane applies four
// activation bytes to all four rows. Every lane keeps an exact int32 block sum and follows the
// scalar reference's float sequence - (sum * d_w) * d_x added block after block - so results are
// bit-identical to it. The weight tile is unpacked once for up to 4 activation rows.
// Float weights: one weight row x up to 4 activation rows of 4-wide FMAs (tolerance vs. the
// reference), two accumulators per row, the same sequence for any batch.
#include "kernels/cpu/matmul-impl.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include <cstring>

#include "core/error.h"

#if defined(__clang__)
#define LF_NEON __attribute__((target("dotprod")))
#else
#define LF_NEON __attribute__((target("+dotprod")))
#endif

namespace lf::cpu {
namespace {

// One q8_0 block with ggml's reference rounding. FCVTAS (vcvtaq) rounds half away from zero,
// which is exactly roundf, and turns NaN into 0 as the reference does.
LF_NEON void quantize_block(const float* x, int8_t* qs, int32_t* sum, float* d_out) {
    float32x4_t v[8];
    float32x4_t m = vdupq_n_f32(0.0f);
    LF_UNROLL
    for (int k = 0; k < 8; ++k) {
        v[k] = vld1q_f32(x + 4 * k);
        m = vmaxnmq_f32(m, vabsq_f32(v[k]));  // maxNum: NaN lanes do not count, as in the reference
    }
    const float amax = vmaxnmvq_f32(m);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *d_out = fp16_to_fp32(fp32_to_fp16(d));
    const float32x4_t vid = vdupq_n_f32(id);
    int32x4_t total = vdupq_n_s32(0);
    for (int k = 0; k < 8; k += 2) {
        const int32x4_t a = vcvtaq_s32_f32(vmulq_f32(v[k], vid));
        const int32x4_t b = vcvtaq_s32_f32(vmulq_f32(v[k + 1], vid));
        total = vaddq_s32(total, vaddq_s32(a, b));
        const int16x8_t h = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
        vst1_s8(qs + 4 * k, vqmovn_s16(h));
    }
    *sum = vaddvq_s32(total);
}

LF_NEON void neon_quantize_act(dtype, const float* x, int64_t n_rows, int64_t n_in, int64_t row0, int64_t row1,
                               void* xq) {
    const q8_act a = q8_act_at(xq, n_rows, n_in);
    const int64_t nb = n_in / qk8_0;
    for (int64_t r = row0; r < row1; ++r)
        for (int64_t ib = 0; ib < nb; ++ib)
            quantize_block(x + r * n_in + ib * qk8_0, a.qs + (ib * n_rows + r) * qk8_0, a.sum + ib * n_rows + r,
                           a.d + ib * n_rows + r);
}

// ---- quantized weights ------------------------------------------------------------------------

constexpr int k_tile_out = 4;  // output rows per quantized tile (one per lane)
constexpr int k_tile_act = 4;  // activation rows per quantized tile

// acc + (4 bytes of a per lane) . (bytes 4L..4L+3 of b); older clang only declares the dot
// product intrinsics when the whole file is built with dotprod.
template <int L>
LF_NEON inline int32x4_t sdot_lane(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__ARM_FEATURE_DOTPROD) || !defined(__clang__)
    return vdotq_laneq_s32(acc, a, b, L);
#else
    if constexpr (L == 0) __asm__("sdot %0.4s, %1.16b, %2.4b[0]" : "+w"(acc) : "w"(a), "w"(b));
    else if constexpr (L == 1) __asm__("sdot %0.4s, %1.16b, %2.4b[1]" : "+w"(acc) : "w"(a), "w"(b));
    else if constexpr (L == 2) __asm__("sdot %0.4s, %1.16b, %2.4b[2]" : "+w"(acc) : "w"(a), "w"(b));
    else __asm__("sdot %0.4s, %1.16b, %2.4b[3]" : "+w"(acc) : "w"(a), "w"(b));
    return acc;
#endif
}

// Sixteen bytes of each of 4 rows (row j at p + j * rb), transposed: lane j of t[k] = row j's
// bytes 4k..4k+3.
LF_NEON inline void load_transposed(const uint8_t* p, size_t rb, uint8x16_t t[4]) {
    const uint32x4_t a0 = vreinterpretq_u32_u8(vld1q_u8(p));
    const uint32x4_t a1 = vreinterpretq_u32_u8(vld1q_u8(p + rb));
    const uint32x4_t a2 = vreinterpretq_u32_u8(vld1q_u8(p + 2 * rb));
    const uint32x4_t a3 = vreinterpretq_u32_u8(vld1q_u8(p + 3 * rb));
    const uint64x2_t p0 = vreinterpretq_u64_u32(vtrn1q_u32(a0, a1));  // a0.0 a1.0 a0.2 a1.2
    const uint64x2_t p1 = vreinterpretq_u64_u32(vtrn2q_u32(a0, a1));  // a0.1 a1.1 a0.3 a1.3
    const uint64x2_t p2 = vreinterpretq_u64_u32(vtrn1q_u32(a2, a3));
    const uint64x2_t p3 = vreinterpretq_u64_u32(vtrn2q_u32(a2, a3));
    t[0] = vreinterpretq_u8_u64(vtrn1q_u64(p0, p2));
    t[1] = vreinterpretq_u8_u64(vtrn1q_u64(p1, p3));
    t[2] = vreinterpretq_u8_u64(vtrn2q_u64(p0, p2));
    t[3] = vreinterpretq_u8_u64(vtrn2q_u64(p1, p3));
}

// Signed weights of one block (starting at p in row 0) for the 4 rows: w[t] lane j = row j's
// elements 4t..4t+3.
LF_NEON inline void unpack_block(const block_q4_0*, const uint8_t* p, size_t rb, int8x16_t w[8]) {
    uint8x16_t t[4];
    load_transposed(p + 2, rb, t);
    const int8x16_t eight = vdupq_n_s8(8);
    LF_UNROLL
    for (int k = 0; k < 4; ++k) {
        w[k] = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(t[k], vdupq_n_u8(0x0f))), eight);
        w[k + 4] = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(t[k], 4)), eight);
    }
}
LF_NEON inline void unpack_block(const block_q8_0*, const uint8_t* p, size_t rb, int8x16_t w[8]) {
    uint8x16_t t[8];
    load_transposed(p + 2, rb, t);
    load_transposed(p + 18, rb, t + 4);
    LF_UNROLL
    for (int k = 0; k < 8; ++k) w[k] = vreinterpretq_s8_u8(t[k]);
}

// 4 output rows (row j at base + j * rb) times activation rows r0 .. r0+R-1; outputs j < n_valid
// are stored to y (f32 [n_rows, n_out], already offset to the tile's first output).
template <typename Block, int R>
LF_NEON void quant_tile(const uint8_t* base, size_t rb, int64_t nb, const q8_act& a, int64_t n_rows, int64_t r0,
                        float* y, int64_t n_out, int n_valid) {
    float32x4_t acc[R];
    LF_UNROLL
    for (int k = 0; k < R; ++k) acc[k] = vdupq_n_f32(0.0f);
    const int8_t* x = a.qs + r0 * 32;
    const float* xd = a.d + r0;
    const uint8_t* p = base;
    for (int64_t ib = 0; ib < nb; ++ib) {
        int8x16_t w[8];
        unpack_block(static_cast<const Block*>(nullptr), p, rb, w);
        uint16_t h[4];
        LF_UNROLL
        for (int j = 0; j < 4; ++j) std::memcpy(&h[j], p + j * rb, 2);
        const float32x4_t dw = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
        LF_UNROLL
        for (int k = 0; k < R; ++k) {
            const int8x16_t xlo = vld1q_s8(x + 32 * k), xhi = vld1q_s8(x + 32 * k + 16);
            int32x4_t s = vdupq_n_s32(0);
            s = sdot_lane<0>(s, w[0], xlo);
            s = sdot_lane<1>(s, w[1], xlo);
            s = sdot_lane<2>(s, w[2], xlo);
            s = sdot_lane<3>(s, w[3], xlo);
            s = sdot_lane<0>(s, w[4], xhi);
            s = sdot_lane<1>(s, w[5], xhi);
            s = sdot_lane<2>(s, w[6], xhi);
            s = sdot_lane<3>(s, w[7], xhi);
            // The reference's order: (float(sum) * d_w) * d_x, then added to the running sum.
            const float32x4_t f = vmulq_n_f32(vmulq_f32(vcvtq_f32_s32(s), dw), xd[k]);
            acc[k] = vaddq_f32(acc[k], f);
        }
        p += sizeof(Block);
        x += n_rows * 32;
        xd += n_rows;
    }
    LF_UNROLL
    for (int k = 0; k < R; ++k) {
        float* yk = y + (r0 + k) * n_out;
        if (n_valid == 4) {
            vst1q_f32(yk, acc[k]);
        } else {
            float tmp[4];
            vst1q_f32(tmp, acc[k]);
            for (int j = 0; j < n_valid; ++j) yk[j] = tmp[j];
        }
    }
}

template <typename Block>
LF_NEON void quant_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    const weight_view& w = job.w;
    const size_t rb = row_bytes(w.type, w.n_in);
    const int64_t nb = w.n_in / 32;
    const q8_act a = q8_act_at(job.xq, job.n_rows, w.n_in);
    for (int64_t t0 = 0; t0 < job.n_rows; t0 += 32) {
        const int64_t t1 = job.n_rows < t0 + 32 ? job.n_rows : t0 + 32;
        for (int64_t o = o0; o < o1; o += k_tile_out) {
            const int n_valid = static_cast<int>(o1 - o < k_tile_out ? o1 - o : k_tile_out);
            const uint8_t* rows = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(o) * rb;
            if (n_valid < k_tile_out) rows = padded_rows(rows, rb, n_valid, k_tile_out);
            float* y = job.y + o;
            for (int64_t r = t0; r < t1;) {
                switch (t1 - r < k_tile_act ? t1 - r : k_tile_act) {
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
LF_NEON inline float32x4_t load4(const void* w, int64_t i) {
    if constexpr (T == dtype::f32) {
        return vld1q_f32(static_cast<const float*>(w) + i);
    } else if constexpr (T == dtype::f16) {
        return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(static_cast<const uint16_t*>(w) + i)));
    } else {
        return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(static_cast<const uint16_t*>(w) + i), 16));
    }
}

template <dtype T>
inline float load1(const void* w, int64_t i) {
    if constexpr (T == dtype::f32) return static_cast<const float*>(w)[i];
    else if constexpr (T == dtype::f16) return fp16_to_fp32(static_cast<const uint16_t*>(w)[i]);
    else return bf16_to_fp32(static_cast<const uint16_t*>(w)[i]);
}

template <dtype T, int R>
LF_NEON void float_rows(const void* w, const float* x, int64_t n, float* out) {
    float32x4_t acc0[R], acc1[R];
    LF_UNROLL
    for (int k = 0; k < R; ++k) acc0[k] = acc1[k] = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t w0 = load4<T>(w, i), w1 = load4<T>(w, i + 4);
        LF_UNROLL
        for (int k = 0; k < R; ++k) {
            acc0[k] = vfmaq_f32(acc0[k], w0, vld1q_f32(x + k * n + i));
            acc1[k] = vfmaq_f32(acc1[k], w1, vld1q_f32(x + k * n + i + 4));
        }
    }
    if (i + 4 <= n) {
        const float32x4_t w0 = load4<T>(w, i);
        LF_UNROLL
        for (int k = 0; k < R; ++k) acc0[k] = vfmaq_f32(acc0[k], w0, vld1q_f32(x + k * n + i));
        i += 4;
    }
    LF_UNROLL
    for (int k = 0; k < R; ++k) {
        float s = vaddvq_f32(vaddq_f32(acc0[k], acc1[k]));
        for (int64_t j = i; j < n; ++j) s += load1<T>(w, j) * x[k * n + j];
        out[k] = s;
    }
}

// One weight row per tile (W = 1), up to four activation rows.
struct float_tiles {
    static constexpr int max_r = 4;
    static constexpr int w_for_r[9] = {0, 1, 1, 1, 1, 0, 0, 0, 0};
    template <int W, int R>
    LF_NEON static void run(const matmul_job& job, const uint8_t* wrow, size_t, int64_t r0, float* out) {
        const int64_t n = job.w.n_in;
        const float* x = job.x + r0 * n;
        switch (job.w.type) {
            case dtype::f16: return float_rows<dtype::f16, R>(wrow, x, n, out);
            case dtype::bf16: return float_rows<dtype::bf16, R>(wrow, x, n, out);
            default: return float_rows<dtype::f32, R>(wrow, x, n, out);
        }
    }
};

constexpr tile_table k_float_tiles = make_tile_table<float_tiles>();

void neon_dot_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    switch (job.w.type) {
        case dtype::q4_0: return quant_rows<block_q4_0>(job, o0, o1);
        case dtype::q8_0: return quant_rows<block_q8_0>(job, o0, o1);
        default: return dot_rows_tiled(job, o0, o1, k_float_tiles);
    }
}

}  // namespace

const matmul_kernels k_neon_kernels = {q8_act_bytes, neon_quantize_act, q8_act_to_q8_0, neon_dot_rows};

}  // namespace lf::cpu
#endif  // __aarch64__
