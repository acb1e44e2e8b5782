// Round trips and error bounds of the block formats and half/bfloat conversions, plus a sweep of
// the f16 conversion against the CPU's own F16C instructions where the CPU has them.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "quant/quant.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

float float_of(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

TEST(QuantRoundTrip, HalfToFloatToHalfIsIdentity) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = lf::fp16_to_fp32(static_cast<uint16_t>(h));
        if (std::isnan(f)) {
            EXPECT_EQ(h & 0x7c00, 0x7c00u) << h;
            continue;
        }
        ASSERT_EQ(lf::fp32_to_fp16(f), h) << "half 0x" << std::hex << h;
    }
    EXPECT_EQ(lf::fp16_to_fp32(0x3c00), 1.0f);
    EXPECT_EQ(lf::fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(lf::fp16_to_fp32(0x7bff), 65504.0f);
    EXPECT_TRUE(std::isinf(lf::fp16_to_fp32(0xfc00)));
}

TEST(QuantRoundTrip, BfloatToFloatToBfloatIsIdentity) {
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float f = lf::bf16_to_fp32(static_cast<uint16_t>(h));
        const uint16_t back = lf::fp32_to_bf16(f);
        if (std::isnan(f)) {
            EXPECT_EQ(back, h | 0x40) << h;  // NaNs come back quiet
            continue;
        }
        ASSERT_EQ(back, h) << "bf16 0x" << std::hex << h;
    }
    EXPECT_EQ(lf::fp32_to_bf16(float_of(0x3f808000)), 0x3f80);  // tie to even, down
    EXPECT_EQ(lf::fp32_to_bf16(float_of(0x3f818000)), 0x3f82);  // tie to even, up
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) uint16_t f16c_convert(float f) {
    return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float f16c_widen(uint16_t h) { return _cvtsh_ss(h); }

TEST(QuantRoundTrip, F16MatchesF16cAcrossFloatRange) {
    if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "CPU without F16C";
    // Every 61st bit pattern (about 70 million values) plus both neighbours of each.
    for (uint64_t u = 0; u <= 0xffffffffull; u += 61) {
        for (uint64_t v = (u ? u - 1 : u); v <= u + 1 && v <= 0xffffffffull; ++v) {
            const float f = float_of(static_cast<uint32_t>(v));
            const uint16_t want = f16c_convert(f);
            const uint16_t got = lf::fp32_to_fp16(f);
            if (got != want) FAIL() << "f16 of 0x" << std::hex << v << ": got 0x" << got << " want 0x" << want;
        }
    }
    for (uint32_t h = 0; h < 0x10000; ++h) {
        const float a = lf::fp16_to_fp32(static_cast<uint16_t>(h));
        const float b = f16c_widen(static_cast<uint16_t>(h));
        if (std::isnan(b)) {  // F16C quiets signalling NaNs; only NaN-ness is the contract
            ASSERT_TRUE(std::isnan(a)) << h;
            continue;
        }
        ASSERT_EQ(std::memcmp(&a, &b, 4), 0) << "half 0x" << std::hex << h;
    }
}
#endif

std::vector<float> random_row(std::mt19937& rng, int64_t n, float scale) {
    std::normal_distribution<float> dist(0.0f, scale);
    std::vector<float> x(n);
    for (auto& v : x) v = dist(rng);
    return x;
}

TEST(QuantRoundTrip, Q8_0ErrorWithinHalfStep) {
    std::mt19937 rng(7);
    for (float scale : {1e-3f, 1.0f, 300.0f}) {
        const int64_t n = 32 * 64;
        auto x = random_row(rng, n, scale);
        std::vector<lf::block_q8_0> q(n / 32);
        std::vector<float> back(n);
        lf::quantize_row(lf::dtype::q8_0, x.data(), q.data(), n);
        lf::dequantize_row(lf::dtype::q8_0, q.data(), back.data(), n);
        for (int64_t ib = 0; ib < n / 32; ++ib) {
            float amax = 0;
            for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[ib * 32 + j]));
            const float d = amax / 127.0f;
            const float d16 = lf::fp16_to_fp32(q[ib].d);
            // Half a step from rounding, plus the scale's own rounding to half precision.
            const float bound = 0.5f * d + 127.0f * std::fabs(d - d16) + 1e-30f;
            for (int j = 0; j < 32; ++j)
                ASSERT_LE(std::fabs(x[ib * 32 + j] - back[ib * 32 + j]), bound * 1.0001f)
                    << "scale " << scale << " block " << ib << " elem " << j;
        }
    }
}

TEST(QuantRoundTrip, Q4_0ErrorWithinOneStep) {
    std::mt19937 rng(8);
    for (float scale : {1e-3f, 1.0f, 300.0f}) {
        const int64_t n = 32 * 64;
        auto x = random_row(rng, n, scale);
        std::vector<lf::block_q4_0> q(n / 32);
        std::vector<float> back(n);
        lf::quantize_row(lf::dtype::q4_0, x.data(), q.data(), n);
        lf::dequantize_row(lf::dtype::q4_0, q.data(), back.data(), n);
        for (int64_t ib = 0; ib < n / 32; ++ib) {
            float max = 0, amax = 0;
            for (int j = 0; j < 32; ++j)
                if (std::fabs(x[ib * 32 + j]) > amax) amax = std::fabs(max = x[ib * 32 + j]);
            const float d = std::fabs(max / 8.0f);
            const float d16 = std::fabs(lf::fp16_to_fp32(q[ib].d));
            // The extreme maps to -8 exactly; the opposite extreme may clamp at +7 (one step).
            const float bound = d + 8.0f * std::fabs(d - d16) + 1e-30f;
            int exact_extreme = 0;
            for (int j = 0; j < 32; ++j) {
                ASSERT_LE(std::fabs(x[ib * 32 + j] - back[ib * 32 + j]), bound * 1.0001f)
                    << "scale " << scale << " block " << ib << " elem " << j;
                if (x[ib * 32 + j] == max) exact_extreme += (((j < 16 ? q[ib].qs[j] : q[ib].qs[j - 16] >> 4) & 15) == 0);
            }
            EXPECT_EQ(exact_extreme, 1) << "signed maximum must quantize to -8";
        }
    }
}

TEST(QuantRoundTrip, ZeroBlocks) {
    std::vector<float> x(64, 0.0f), back(64, 1.0f);
    lf::block_q4_0 q4[2];
    lf::block_q8_0 q8[2];
    lf::quantize_row(lf::dtype::q4_0, x.data(), q4, 64);
    lf::quantize_row(lf::dtype::q8_0, x.data(), q8, 64);
    for (int b = 0; b < 2; ++b) {
        EXPECT_EQ(q4[b].d, 0x8000);  // d = 0 / -8 = -0, as in ggml
        EXPECT_EQ(q8[b].d, 0);
        for (int j = 0; j < 16; ++j) EXPECT_EQ(q4[b].qs[j], 0x88);  // zero is code 8 in both nibbles
        for (int j = 0; j < 32; ++j) EXPECT_EQ(q8[b].qs[j], 0);
    }
    lf::dequantize_row(lf::dtype::q4_0, q4, back.data(), 64);
    for (float v : back) EXPECT_EQ(v, 0.0f);
}

TEST(QuantRoundTrip, FloatTypesRoundTrip) {
    std::mt19937 rng(9);
    auto x = random_row(rng, 1000, 10.0f);
    std::vector<float> back(1000);
    std::vector<uint8_t> buf(4000);
    lf::quantize_row(lf::dtype::f32, x.data(), buf.data(), 1000);
    lf::dequantize_row(lf::dtype::f32, buf.data(), back.data(), 1000);
    EXPECT_EQ(std::memcmp(x.data(), back.data(), 4000), 0);
    for (lf::dtype t : {lf::dtype::f16, lf::dtype::bf16}) {
        lf::quantize_row(t, x.data(), buf.data(), 1000);
        lf::dequantize_row(t, buf.data(), back.data(), 1000);
        const float rel = t == lf::dtype::f16 ? 0x1p-11f : 0x1p-8f;
        for (int i = 0; i < 1000; ++i) ASSERT_LE(std::fabs(back[i] - x[i]), std::fabs(x[i]) * rel) << i;
    }
}

}  // namespace
