// Reference (scalar) conversions between f32 and the stored element types. These define the
// bytes leapfrog writes: they are bit-identical to ggml's round-to-nearest reference quantizers
// (quantize_row_q8_0_ref, quantize_row_q4_0_ref) and to gguf-py's gguf.quants, which tests check
// against golden files and against gguf.quants itself.
// Invariant: the float arithmetic here is exactly the reference's, operation for operation —
// this module is built with -ffp-contract=off so that no multiply-add is fused (fusing changes
// the rounding of x*id + 8.5 and flips quants at ties).
#include "quant/quant.h"

#include <cmath>
#include <cstring>

#include "core/error.h"

namespace lf {
namespace {

uint32_t bits_of(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

float float_of(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

// roundf's half-away-from-zero rounding to int8; the block scale keeps |v| <= 127 for finite
// input. NaN (never produced by a finite row) maps to 0 rather than to undefined behaviour.
int8_t round_to_i8(float v) {
    if (!(v == v)) return 0;
    return static_cast<int8_t>(static_cast<int>(std::roundf(v)));
}

}  // namespace

uint16_t fp32_to_fp16(float f) {
    const uint32_t x = bits_of(f);
    const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
    const uint32_t ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u)  // NaN: keep it quiet and keep the top payload bits (as F16C does)
        return sign | 0x7e00u | static_cast<uint16_t>((ax >> 13) & 0x3ffu);
    if (ax >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 rounds (to even) past 65504: inf
    if (ax >= 0x38800000u) {                       // normal half: rebias exponent 127 -> 15
        const uint32_t rounded = ax + 0xfffu + ((ax >> 13) & 1u);
        return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
    }
    // Subnormal half (units of 2^-24) or zero. The value is m * 2^(e-150); shifting m right by
    // 126-e gives units of 2^-24. A carry into 0x400 yields the smallest normal, correctly.
    const int e = static_cast<int>(ax >> 23);
    const int shift = 126 - e;
    if (shift > 24) return sign;  // below 2^-25: rounds to zero
    const uint32_t m = (ax & 0x7fffffu) | 0x800000u;
    uint32_t q = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1u))) ++q;
    return sign | static_cast<uint16_t>(q);
}

float fp16_to_fp32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1fu;
    const uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) return float_of(sign | 0x7f800000u | (mant << 13));  // inf / NaN
    if (exp != 0) return float_of(sign | ((exp + 112) << 23) | (mant << 13));
    if (mant == 0) return float_of(sign);
    // Subnormal half: exact in f32 (mant * 2^-24).
    const float v = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -v : v;
}

uint16_t fp32_to_bf16(float f) {
    const uint32_t u = bits_of(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 64);  // quiet NaN
    return static_cast<uint16_t>((u + (0x7fffu + ((u >> 16) & 1u))) >> 16);
}

float bf16_to_fp32(uint16_t h) { return float_of(static_cast<uint32_t>(h) << 16); }

void quantize_row_q8_0_ref(const float* x, block_q8_0* y, int64_t n) {
    LF_CHECK(n % qk8_0 == 0);
    for (int64_t ib = 0; ib < n / qk8_0; ++ib) {
        const float* xb = x + ib * qk8_0;
        float amax = 0.0f;
        for (int j = 0; j < qk8_0; ++j) {
            const float a = std::fabs(xb[j]);
            amax = a > amax ? a : amax;
        }
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[ib].d = fp32_to_fp16(d);
        for (int j = 0; j < qk8_0; ++j) y[ib].qs[j] = round_to_i8(xb[j] * id);
    }
}

void quantize_row_q4_0_ref(const float* x, block_q4_0* y, int64_t n) {
    LF_CHECK(n % qk4_0 == 0);
    for (int64_t ib = 0; ib < n / qk4_0; ++ib) {
        const float* xb = x + ib * qk4_0;
        // The signed value of largest magnitude (first one on ties) maps to -8, so the full
        // range [-8, 7] is used on the side where it matters.
        float amax = 0.0f;
        float max = 0.0f;
        for (int j = 0; j < qk4_0; ++j) {
            const float a = std::fabs(xb[j]);
            if (amax < a) {
                amax = a;
                max = xb[j];
            }
        }
        const float d = max / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[ib].d = fp32_to_fp16(d);
        for (int j = 0; j < qk4_0 / 2; ++j) {
            const float x0 = xb[j] * id;
            const float x1 = xb[qk4_0 / 2 + j] * id;
            // Truncation of x+8.5 is round-half-up of x+8; for finite input it lies in [0, 16].
            const float t0 = x0 + 8.5f;
            const float t1 = x1 + 8.5f;
            int q0 = t0 == t0 ? static_cast<int>(t0) : 0;
            int q1 = t1 == t1 ? static_cast<int>(t1) : 0;
            q0 = q0 < 0 ? 0 : (q0 > 15 ? 15 : q0);
            q1 = q1 < 0 ? 0 : (q1 > 15 ? 15 : q1);
            y[ib].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
        }
    }
}

void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t n) {
    LF_CHECK(n % qk8_0 == 0);
    for (int64_t ib = 0; ib < n / qk8_0; ++ib) {
        const float d = fp16_to_fp32(x[ib].d);
        for (int j = 0; j < qk8_0; ++j) y[ib * qk8_0 + j] = static_cast<float>(x[ib].qs[j]) * d;
    }
}

void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t n) {
    LF_CHECK(n % qk4_0 == 0);
    for (int64_t ib = 0; ib < n / qk4_0; ++ib) {
        const float d = fp16_to_fp32(x[ib].d);
        for (int j = 0; j < qk4_0 / 2; ++j) {
            const int q0 = (x[ib].qs[j] & 0x0f) - 8;
            const int q1 = (x[ib].qs[j] >> 4) - 8;
            y[ib * qk4_0 + j] = static_cast<float>(q0) * d;
            y[ib * qk4_0 + qk4_0 / 2 + j] = static_cast<float>(q1) * d;
        }
    }
}

void quantize_row(dtype type, const float* src, void* dst, int64_t n) {
    switch (type) {
        case dtype::f32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case dtype::f16: {
            auto* out = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) out[i] = fp32_to_fp16(src[i]);
            return;
        }
        case dtype::bf16: {
            auto* out = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) out[i] = fp32_to_bf16(src[i]);
            return;
        }
        case dtype::q8_0: quantize_row_q8_0_ref(src, static_cast<block_q8_0*>(dst), n); return;
        case dtype::q4_0: quantize_row_q4_0_ref(src, static_cast<block_q4_0*>(dst), n); return;
    }
    abort_at(__FILE__, __LINE__, "quantize_row: unknown dtype");
}

void dequantize_row(dtype type, const void* src, float* dst, int64_t n) {
    switch (type) {
        case dtype::f32:
            std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case dtype::f16: {
            const auto* in = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(in[i]);
            return;
        }
        case dtype::bf16: {
            const auto* in = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(in[i]);
            return;
        }
        case dtype::q8_0: dequantize_row_q8_0(static_cast<const block_q8_0*>(src), dst, n); return;
        case dtype::q4_0: dequantize_row_q4_0(static_cast<const block_q4_0*>(src), dst, n); return;
    }
    abort_at(__FILE__, __LINE__, "dequantize_row: unknown dtype");
}

}  // namespace lf
