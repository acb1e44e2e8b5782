// q8_0 rows packed for the AVX2 kernels (weight_layout::q8_0_x8): the packing is lossless, each
// row keeps its place, and every level that reads packed weights gives exactly the bits it gives
// for the GGUF layout, for any number of weight rows, activation rows and threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/thread-pool.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/q8-x8.h"
#include "quant/quant.h"

#include "packed-layout-check.h"
#include "random-matrix.h"

namespace {

using lf::cpu_isa;
using lf::dtype;

TEST(Q8x8, PackableShapes) {
    EXPECT_TRUE(lf::q8_0_x8_packable({dtype::q8_0, nullptr, 256, 3}));
    EXPECT_TRUE(lf::q8_0_x8_packable({dtype::q8_0, nullptr, 1536, 1}));
    EXPECT_FALSE(lf::q8_0_x8_packable({dtype::q8_0, nullptr, 224, 3}));  // 7 blocks
    EXPECT_FALSE(lf::q8_0_x8_packable({dtype::q8_0, nullptr, 800, 3}));  // 25 blocks
    EXPECT_FALSE(lf::q8_0_x8_packable({dtype::q4_0, nullptr, 256, 3}));
    EXPECT_FALSE(lf::q8_0_x8_packable({dtype::f16, nullptr, 256, 3}));
    EXPECT_FALSE(lf::q8_0_x8_packable({dtype::q8_0, nullptr, 256, 3, lf::weight_layout::q8_0_x8}));
    std::vector<uint8_t> out(2000);
    EXPECT_THROW(lf::pack_q8_0_x8({dtype::q8_0, out.data(), 224, 1}, out.data() + 1000), lf::error);
}

// Unpacking gives back every row, and a row found as in the GGUF layout (o * row_bytes) is that
// row's bytes in another order: changing one byte of the packed copy changes exactly one row.
TEST(Q8x8, RowsKeepTheirPlace) {
    std::mt19937 rng(21);
    for (int64_t n_in : {256, 768})
        for (int64_t n_out : {1, 2, 5}) {
            const std::vector<uint8_t> plain = lf::test::random_matrix(dtype::q8_0, n_in, n_out, 2.0f, rng);
            std::vector<uint8_t> packed(plain.size());
            const lf::weight_view w = lf::pack_q8_0_x8({dtype::q8_0, plain.data(), n_in, n_out}, packed.data());
            EXPECT_EQ(w.layout, lf::weight_layout::q8_0_x8);
            EXPECT_EQ(w.data, packed.data());
            EXPECT_NE(packed, plain);
            const size_t rb = lf::row_bytes(dtype::q8_0, n_in);
            std::vector<lf::block_q8_0> row(n_in / 32);
            for (int64_t o = 0; o < n_out; ++o) {
                lf::unpack_q8_0_x8_row(w, o, row.data());
                EXPECT_EQ(std::memcmp(row.data(), plain.data() + o * rb, rb), 0) << n_in << "x" << n_out << " row " << o;
                // The row's bytes are where the GGUF row was, only in another order.
                std::vector<uint8_t> a(plain.begin() + o * rb, plain.begin() + (o + 1) * rb);
                std::vector<uint8_t> b(packed.begin() + o * rb, packed.begin() + (o + 1) * rb);
                std::sort(a.begin(), a.end());
                std::sort(b.begin(), b.end());
                EXPECT_EQ(a, b) << n_in << "x" << n_out << " row " << o;
            }
        }
    const int64_t n_in = 512, n_out = 3;
    const size_t rb = lf::row_bytes(dtype::q8_0, n_in);
    const std::vector<uint8_t> plain = lf::test::random_matrix(dtype::q8_0, n_in, n_out, 2.0f, rng);
    std::vector<uint8_t> packed(plain.size()), changed(plain.size());
    const lf::weight_view w = lf::pack_q8_0_x8({dtype::q8_0, plain.data(), n_in, n_out}, packed.data());
    changed = packed;
    changed[rb + 272 + 40] ^= 0x11;  // row 1, group 1, quants
    const lf::weight_view wc{dtype::q8_0, changed.data(), n_in, n_out, lf::weight_layout::q8_0_x8};
    std::vector<lf::block_q8_0> a(n_in / 32), b(n_in / 32);
    for (int64_t o = 0; o < n_out; ++o) {
        lf::unpack_q8_0_x8_row(w, o, a.data());
        lf::unpack_q8_0_x8_row(wc, o, b.data());
        EXPECT_EQ(std::memcmp(a.data(), b.data(), rb) != 0, o == 1) << o;
    }
}

TEST(Q8x8, PackedGivesTheSameBits) {
    std::mt19937 rng(23);
    lf::test::expect_packed_same_bits(dtype::q8_0, lf::pack_q8_0_x8, rng);
}

TEST(Q8x8, PackedIsRefusedWhereItCannotBeRead) {
    std::mt19937 rng(24);
    lf::test::expect_packed_refused(dtype::q8_0, lf::weight_layout::q8_0_x8, lf::pack_q8_0_x8, rng);
}

}  // namespace
