// q4_0 rows packed for the AVX2 kernels (weight_layout::q4_0_x8): the packing is lossless, and
// every level that reads packed weights gives exactly the bits it gives for the GGUF layout, for
// any number of weight rows (pairs and an unpaired last row), activation rows and threads.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread-pool.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/q4-x8.h"
#include "quant/quant.h"

#include "packed-layout-check.h"
#include "random-matrix.h"

namespace {

using lf::cpu_isa;
using lf::dtype;
using lf::test::random_rows;
using lf::test::same_bits;

// q4_0 bytes [n_out, n_in] of rows with scales over four decades.
std::vector<uint8_t> random_q4_0(int64_t n_in, int64_t n_out, std::mt19937& rng) {
    return lf::test::random_matrix(dtype::q4_0, n_in, n_out, 2.0f, rng);
}

TEST(Q4x8, PackableShapes) {
    EXPECT_TRUE(lf::q4_0_x8_packable({dtype::q4_0, nullptr, 256, 3}));
    EXPECT_TRUE(lf::q4_0_x8_packable({dtype::q4_0, nullptr, 1536, 1}));
    EXPECT_FALSE(lf::q4_0_x8_packable({dtype::q4_0, nullptr, 224, 3}));   // 7 blocks
    EXPECT_FALSE(lf::q4_0_x8_packable({dtype::q4_0, nullptr, 800, 3}));   // 25 blocks
    EXPECT_FALSE(lf::q4_0_x8_packable({dtype::q8_0, nullptr, 256, 3}));
    EXPECT_FALSE(lf::q4_0_x8_packable({dtype::f16, nullptr, 256, 3}));
    EXPECT_FALSE(lf::q4_0_x8_packable({dtype::q4_0, nullptr, 256, 3, lf::weight_layout::q4_0_x8}));
    std::vector<uint8_t> out(1000);
    EXPECT_THROW(lf::pack_q4_0_x8({dtype::q4_0, out.data(), 224, 1}, out.data() + 500), lf::error);
}

TEST(Q4x8, UnpackGivesBackEveryRow) {
    std::mt19937 rng(11);
    for (int64_t n_in : {256, 768})
        for (int64_t n_out : {1, 2, 5, 8}) {
            const std::vector<uint8_t> plain = random_q4_0(n_in, n_out, rng);
            std::vector<uint8_t> packed(plain.size());
            const lf::weight_view w = lf::pack_q4_0_x8({dtype::q4_0, plain.data(), n_in, n_out}, packed.data());
            EXPECT_EQ(w.layout, lf::weight_layout::q4_0_x8);
            EXPECT_EQ(w.data, packed.data());
            EXPECT_NE(packed, plain);
            const size_t rb = lf::row_bytes(dtype::q4_0, n_in);
            std::vector<lf::block_q4_0> row(n_in / 32);
            for (int64_t o = 0; o < n_out; ++o) {
                lf::unpack_q4_0_x8_row(w, o, row.data());
                EXPECT_EQ(std::memcmp(row.data(), plain.data() + o * rb, rb), 0) << n_in << "x" << n_out << " row " << o;
            }
        }
}

// Pairs keep their place: rows 2p and 2p + 1 fill bytes [2p, 2p + 2) * row_bytes, and the last
// row of an odd count stays where it was.
TEST(Q4x8, PairsStayInPlace) {
    std::mt19937 rng(12);
    const int64_t n_in = 512, n_out = 5;
    const size_t rb = lf::row_bytes(dtype::q4_0, n_in);
    const std::vector<uint8_t> plain = random_q4_0(n_in, n_out, rng);
    std::vector<uint8_t> packed(plain.size());
    const lf::weight_view w = lf::pack_q4_0_x8({dtype::q4_0, plain.data(), n_in, n_out}, packed.data());
    for (int64_t o = 0; o < n_out; ++o) {
        const lf::q4_0_x8_row r = lf::q4_0_x8_row_at(w, o);
        const size_t at = static_cast<size_t>(r.first - packed.data());
        EXPECT_EQ(at / (2 * rb), static_cast<size_t>(o / 2)) << o;
        EXPECT_EQ(r.stride, o == 4 ? 144u : 288u) << o;
    }
    // Changing one byte of the packed copy changes exactly one row's values.
    std::vector<uint8_t> changed = packed;
    changed[288 + 144 + 5] ^= 0x11;  // row 1, group 1, nibbles
    const lf::weight_view wc{dtype::q4_0, changed.data(), n_in, n_out, lf::weight_layout::q4_0_x8};
    std::vector<lf::block_q4_0> a(n_in / 32), b(n_in / 32);
    for (int64_t o = 0; o < n_out; ++o) {
        lf::unpack_q4_0_x8_row(w, o, a.data());
        lf::unpack_q4_0_x8_row(wc, o, b.data());
        EXPECT_EQ(std::memcmp(a.data(), b.data(), rb) != 0, o == 1) << o;
    }
}

// The packed layout gives the GGUF layout's bits on every level that reads it, through every
// tile (packed-layout-check.h).
TEST(Q4x8, PackedGivesTheSameBits) {
    std::mt19937 rng(13);
    lf::test::expect_packed_same_bits(dtype::q4_0, lf::pack_q4_0_x8, rng);
}

// A packed matrix in a multi-part call: each part keeps its own bits.
TEST(Q4x8, PackedPartsInOneCall) {
    if (!lf::isa_supported(cpu_isa::avx2)) GTEST_SKIP() << "no avx2 level on this CPU";
    std::mt19937 rng(14);
    lf::thread_pool pool(2);
    const int64_t n_in = 512, n_rows = 4;
    const std::vector<uint8_t> a = random_q4_0(n_in, 33, rng), b = random_q4_0(n_in, 40, rng);
    std::vector<uint8_t> pa(a.size());
    const lf::weight_view wa = lf::pack_q4_0_x8({dtype::q4_0, a.data(), n_in, 33}, pa.data());
    const lf::weight_view wb{dtype::q4_0, b.data(), n_in, 40};
    const std::vector<float> x = random_rows(n_rows, n_in, rng);
    std::vector<float> ya(n_rows * 33), yb(n_rows * 40), ya1(ya.size()), yb1(yb.size());
    const lf::matmul_part parts[2] = {{wa, ya.data()}, {wb, yb.data()}};
    lf::matmul_multi_isa(cpu_isa::avx2, parts, 2, x.data(), n_rows, pool);
    lf::matmul_isa(cpu_isa::avx2, {dtype::q4_0, a.data(), n_in, 33}, x.data(), n_rows, ya1.data(), pool);
    lf::matmul_isa(cpu_isa::avx2, wb, x.data(), n_rows, yb1.data(), pool);
    EXPECT_TRUE(same_bits(ya, ya1));
    EXPECT_TRUE(same_bits(yb, yb1));
}

TEST(Q4x8, PackedIsRefusedWhereItCannotBeRead) {
    std::mt19937 rng(15);
    lf::test::expect_packed_refused(dtype::q4_0, lf::weight_layout::q4_0_x8, lf::pack_q4_0_x8, rng);
}

}  // namespace
