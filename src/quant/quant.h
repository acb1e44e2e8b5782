// Block formats and reference (scalar) quantize/dequantize routines, bit-identical to ggml's
// round-to-nearest reference quantizers.
#pragma once
#include <cstdint>

#include "core/dtype.h"

namespace lf {

constexpr int qk8_0 = 32;
constexpr int qk4_0 = 32;

#pragma pack(push, 1)
struct block_q8_0 {
    uint16_t d;         // f16 scale
    int8_t qs[qk8_0];   // value = d * qs[i]
};
struct block_q4_0 {
    uint16_t d;              // f16 scale
    uint8_t qs[qk4_0 / 2];   // low nibbles hold elements 0..15, high nibbles 16..31; value = d * (q - 8)
};
#pragma pack(pop)
static_assert(sizeof(block_q8_0) == 34);
static_assert(sizeof(block_q4_0) == 18);

// IEEE half and bfloat16 conversions (round to nearest even; bf16 keeps NaNs quiet as ggml does).
uint16_t fp32_to_fp16(float f);
float fp16_to_fp32(uint16_t h);
uint16_t fp32_to_bf16(float f);
float bf16_to_fp32(uint16_t h);

// The block quantizers behind quantize_row (ggml's *_ref rounding), and their inverses.
// n is a multiple of 32.
void quantize_row_q8_0_ref(const float* x, block_q8_0* y, int64_t n);
void quantize_row_q4_0_ref(const float* x, block_q4_0* y, int64_t n);
void dequantize_row_q8_0(const block_q8_0* x, float* y, int64_t n);
void dequantize_row_q4_0(const block_q4_0* x, float* y, int64_t n);

// Converts n floats to `type` (any dtype; f32 copies). n must be a multiple of the block size.
void quantize_row(dtype type, const float* src, void* dst, int64_t n);
// Converts n elements of `type` back to floats.
void dequantize_row(dtype type, const void* src, float* dst, int64_t n);

}  // namespace lf
