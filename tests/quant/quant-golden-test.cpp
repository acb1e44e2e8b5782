// Golden tests: leapfrog's reference quantizers and half/bfloat conversions must produce exactly
// the bytes gguf.quants (ggml's reference rounding) produced for the same inputs. The inputs and
// expected bytes live in tests/data/quant/, written by tests/data/quant/make-golden.py.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "quant/quant.h"

namespace {

constexpr int64_t k_row_elems = 128;  // as written by make-golden.py

std::vector<uint8_t> read_file(const std::string& name) {
    const std::string path = std::string(LF_TEST_DATA) + "/quant/" + name;
    std::ifstream f(path, std::ios::binary);
    EXPECT_TRUE(f.good()) << "cannot open " << path;
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<float> read_floats(const std::string& name) {
    auto bytes = read_file(name);
    std::vector<float> out(bytes.size() / 4);
    std::memcpy(out.data(), bytes.data(), out.size() * 4);
    return out;
}

// Quantizes every golden row to `type` and compares the bytes with the golden file.
void check_rows(lf::dtype type, const std::string& golden_name) {
    const auto rows = read_floats("rows.f32.bin");
    const auto golden = read_file(golden_name);
    ASSERT_EQ(rows.size() % k_row_elems, 0u);
    const int64_t n_rows = static_cast<int64_t>(rows.size()) / k_row_elems;
    const size_t row_bytes = lf::row_bytes(type, k_row_elems);
    ASSERT_GT(n_rows, 50);
    ASSERT_EQ(golden.size(), static_cast<size_t>(n_rows) * row_bytes);
    std::vector<uint8_t> out(row_bytes);
    int mismatched_rows = 0;
    for (int64_t r = 0; r < n_rows; ++r) {
        lf::quantize_row(type, rows.data() + r * k_row_elems, out.data(), k_row_elems);
        const uint8_t* want = golden.data() + r * row_bytes;
        if (std::memcmp(out.data(), want, row_bytes) != 0) {
            size_t at = 0;
            while (out[at] == want[at]) ++at;
            ADD_FAILURE() << lf::traits(type).name << " row " << r << " differs at byte " << at
                          << ": got " << int(out[at]) << ", want " << int(want[at]);
            if (++mismatched_rows > 5) return;
        }
    }
}

TEST(QuantGolden, Q8_0MatchesGgufQuants) { check_rows(lf::dtype::q8_0, "rows.q8_0.bin"); }
TEST(QuantGolden, Q4_0MatchesGgufQuants) { check_rows(lf::dtype::q4_0, "rows.q4_0.bin"); }
TEST(QuantGolden, F16RowsMatchNumpy) { check_rows(lf::dtype::f16, "rows.f16.bin"); }
TEST(QuantGolden, Bf16RowsMatchGgufQuants) { check_rows(lf::dtype::bf16, "rows.bf16.bin"); }

TEST(QuantGolden, F16BitPatterns) {
    const auto floats = read_floats("floats.f32.bin");
    const auto golden = read_file("floats.f16.bin");
    ASSERT_EQ(golden.size(), floats.size() * 2);
    ASSERT_GT(floats.size(), 10000u);
    int bad = 0;
    for (size_t i = 0; i < floats.size() && bad < 10; ++i) {
        uint16_t want;
        std::memcpy(&want, golden.data() + 2 * i, 2);
        const uint16_t got = lf::fp32_to_fp16(floats[i]);
        if (std::isnan(floats[i])) {
            // NaN payloads are not part of the contract; NaN-ness and sign are.
            EXPECT_EQ(got & 0x7c00, 0x7c00);
            EXPECT_NE(got & 0x3ff, 0);
            EXPECT_EQ(got & 0x8000, want & 0x8000);
        } else if (got != want) {
            uint32_t u;
            std::memcpy(&u, &floats[i], 4);
            ADD_FAILURE() << "f16 of 0x" << std::hex << u << ": got 0x" << got << ", want 0x" << want;
            ++bad;
        }
    }
}

TEST(QuantGolden, Bf16BitPatterns) {
    const auto floats = read_floats("floats.f32.bin");
    const auto golden = read_file("floats.bf16.bin");
    ASSERT_EQ(golden.size(), floats.size() * 2);
    int bad = 0;
    for (size_t i = 0; i < floats.size() && bad < 10; ++i) {
        uint16_t want;
        std::memcpy(&want, golden.data() + 2 * i, 2);
        const uint16_t got = lf::fp32_to_bf16(floats[i]);
        if (got != want) {
            uint32_t u;
            std::memcpy(&u, &floats[i], 4);
            ADD_FAILURE() << "bf16 of 0x" << std::hex << u << ": got 0x" << got << ", want 0x" << want;
            ++bad;
        }
    }
}

}  // namespace
