// AArch64 NEON matmul kernels with the dot-product extension (sdot). Functions carry their own
// target attribute; the driver runs them only when the CPU reports asimddp.
//
// Quantized activations: int8 qs [n_rows, n_in] (ggml's q8_0 values), then the f16-rounded block
// scales as f32 [n_rows, n_in / 32]. A weight block is unpacked once into two registers of signed
// bytes and multiplied against 1-4 activation rows with sdot (signed x signed, exact). Each row
// keeps two f32 accumulators (even/odd blocks or 4-wide steps), the same sequence for any batch.
#include "kernels/cpu/matmul-impl.h"

#if defined(__aarch64__)
#include <arm_neon.h>

#include "core/error.h"

#if defined(__clang__)
#define LF_NEON __attribute__((target("dotprod")))
#else
#define LF_NEON __attribute__((target("+dotprod")))
#endif

namespace lf::cpu {
namespace {

constexpr int k_max_rows = 4;

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

size_t neon_act_bytes(int64_t n_rows, int64_t n_in) {
    return align64(static_cast<size_t>(n_rows * n_in)) + static_cast<size_t>(n_rows * (n_in / qk8_0)) * 4;
}

// One q8_0 block with ggml's reference rounding. FCVTAS (vcvtaq) rounds half away from zero,
// which is exactly roundf.
LF_NEON void quantize_block(const float* x, int8_t* qs, float* d_out) {
    float32x4_t v[8];
    float32x4_t m = vdupq_n_f32(0.0f);
    for (int k = 0; k < 8; ++k) {
        v[k] = vld1q_f32(x + 4 * k);
        m = vmaxq_f32(m, vabsq_f32(v[k]));
    }
    const float amax = vmaxvq_f32(m);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *d_out = fp16_to_fp32(fp32_to_fp16(d));
    const float32x4_t vid = vdupq_n_f32(id);
    for (int k = 0; k < 8; k += 2) {
        const int32x4_t a = vcvtaq_s32_f32(vmulq_f32(v[k], vid));
        const int32x4_t b = vcvtaq_s32_f32(vmulq_f32(v[k + 1], vid));
        const int16x8_t h = vcombine_s16(vqmovn_s32(a), vqmovn_s32(b));
        vst1_s8(qs + 4 * k, vqmovn_s16(h));
    }
}

LF_NEON void neon_quantize_act(const float* x, int64_t n_rows, int64_t n_in, int64_t row0, int64_t row1,
                               void* xq) {
    const act_layout a = act_at(xq, n_rows, n_in);
    const int64_t nb = n_in / qk8_0;
    for (int64_t r = row0; r < row1; ++r)
        for (int64_t ib = 0; ib < nb; ++ib)
            quantize_block(x + r * n_in + ib * qk8_0, a.qs + r * n_in + ib * qk8_0, a.d + r * nb + ib);
}

void neon_act_to_q8_0(const void* xq, int64_t n_rows, int64_t n_in, int64_t r, block_q8_0* out) {
    const act_layout a = act_at(xq, n_rows, n_in);
    const int64_t nb = n_in / qk8_0;
    for (int64_t ib = 0; ib < nb; ++ib) {
        out[ib].d = fp32_to_fp16(a.d[r * nb + ib]);
        for (int j = 0; j < qk8_0; ++j) out[ib].qs[j] = a.qs[r * n_in + ib * qk8_0 + j];
    }
}

struct wblock {
    int8x16_t lo, hi;  // elements 0-15 and 16-31 as signed bytes
    float d;
};

LF_NEON inline wblock load_block(const block_q4_0& b) {
    const uint8x16_t q = vld1q_u8(b.qs);
    const int8x16_t eight = vdupq_n_s8(8);
    return {vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(0x0f))), eight),
            vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight), fp16_to_fp32(b.d)};
}
LF_NEON inline wblock load_block(const block_q8_0& b) {
    return {vld1q_s8(b.qs), vld1q_s8(b.qs + 16), fp16_to_fp32(b.d)};
}

// sdot; older clang only declares vdotq_s32 when the whole file is built with dotprod.
LF_NEON inline int32x4_t sdot(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__ARM_FEATURE_DOTPROD) || !defined(__clang__)
    return vdotq_s32(acc, a, b);
#else
    __asm__("sdot %0.4s, %1.16b, %2.16b" : "+w"(acc) : "w"(a), "w"(b));
    return acc;
#endif
}

LF_NEON inline float32x4_t accumulate(const wblock& w, const int8_t* x, float dx, float32x4_t acc) {
    int32x4_t s = sdot(vdupq_n_s32(0), w.lo, vld1q_s8(x));
    s = sdot(s, w.hi, vld1q_s8(x + 16));
    return vfmaq_f32(acc, vcvtq_f32_s32(s), vdupq_n_f32(w.d * dx));
}

template <typename Block, int R>
LF_NEON void quant_rows(const Block* w, int64_t nb, act_layout a, int64_t n_in, int64_t r0, float* out) {
    float32x4_t acc0[R], acc1[R];
    for (int k = 0; k < R; ++k) acc0[k] = acc1[k] = vdupq_n_f32(0.0f);
    const int8_t* xqs = a.qs + r0 * n_in;
    const float* xd = a.d + r0 * nb;
    int64_t ib = 0;
    for (; ib + 2 <= nb; ib += 2) {
        const wblock w0 = load_block(w[ib]), w1 = load_block(w[ib + 1]);
        for (int k = 0; k < R; ++k) {
            acc0[k] = accumulate(w0, xqs + k * n_in + ib * qk8_0, xd[k * nb + ib], acc0[k]);
            acc1[k] = accumulate(w1, xqs + k * n_in + (ib + 1) * qk8_0, xd[k * nb + ib + 1], acc1[k]);
        }
    }
    if (ib < nb) {
        const wblock w0 = load_block(w[ib]);
        for (int k = 0; k < R; ++k) acc0[k] = accumulate(w0, xqs + k * n_in + ib * qk8_0, xd[k * nb + ib], acc0[k]);
    }
    for (int k = 0; k < R; ++k) out[k] = vaddvq_f32(vaddq_f32(acc0[k], acc1[k]));
}

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
    for (int k = 0; k < R; ++k) acc0[k] = acc1[k] = vdupq_n_f32(0.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float32x4_t w0 = load4<T>(w, i), w1 = load4<T>(w, i + 4);
        for (int k = 0; k < R; ++k) {
            acc0[k] = vfmaq_f32(acc0[k], w0, vld1q_f32(x + k * n + i));
            acc1[k] = vfmaq_f32(acc1[k], w1, vld1q_f32(x + k * n + i + 4));
        }
    }
    if (i + 4 <= n) {
        const float32x4_t w0 = load4<T>(w, i);
        for (int k = 0; k < R; ++k) acc0[k] = vfmaq_f32(acc0[k], w0, vld1q_f32(x + k * n + i));
        i += 4;
    }
    for (int k = 0; k < R; ++k) {
        float s = vaddvq_f32(vaddq_f32(acc0[k], acc1[k]));
        for (int64_t j = i; j < n; ++j) s += load1<T>(w, j) * x[k * n + j];
        out[k] = s;
    }
}

template <int R>
LF_NEON void rows_r(const matmul_job& job, const uint8_t* wrow, int64_t r0, float* out) {
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

void neon_dot_rows(const matmul_job& job, int64_t o0, int64_t o1) {
    static constexpr rows_fn fns[k_max_rows] = {rows_r<1>, rows_r<2>, rows_r<3>, rows_r<4>};
    dot_rows_blocked(job, o0, o1, fns, k_max_rows);
}

}  // namespace

const matmul_kernels k_neon_kernels = {neon_act_bytes, neon_quantize_act, neon_act_to_q8_0, neon_dot_rows};

}  // namespace lf::cpu
#endif  // __aarch64__
