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
#include "random-matrix.h"

namespace {

using lf::cpu_isa;
using lf::dtype;

// q4_0 bytes [n_out, n_in] of rows with scales over four decades.
std::vector<uint8_t> random_q4_0(int64_t n_in, int64_t n_out, std::mt19937& rng) {
    return lf::test::random_matrix(dtype::q4_0, n_in, n_out, 2.0f, rng);
}

std::vector<float> random_rows(int64_t n_rows, int64_t n_in, std::mt19937& rng) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n_rows * n_in));
    for (auto& v : x) v = dist(rng);
    return x;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
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
// tile: 1-9 and 33 activation rows (one-row tiles, pair tiles of 1-4 rows, several passes), odd
// and even weight row counts, and thread counts that cut the rows into different tasks.
TEST(Q4x8, PackedGivesTheSameBits) {
    std::mt19937 rng(13);
    std::vector<cpu_isa> levels = {cpu_isa::scalar};
    if (lf::isa_supported(cpu_isa::avx2)) levels.push_back(cpu_isa::avx2);
    lf::thread_pool pools[] = {lf::thread_pool(1), lf::thread_pool(2), lf::thread_pool(3)};
    for (int64_t n_in : {256, 768, 1536})
        for (int64_t n_out : {1, 2, 3, 7, 64, 97}) {
            const std::vector<uint8_t> plain = random_q4_0(n_in, n_out, rng);
            std::vector<uint8_t> packed(plain.size());
            const lf::weight_view wg{dtype::q4_0, plain.data(), n_in, n_out};
            const lf::weight_view wp = lf::pack_q4_0_x8(wg, packed.data());
            for (int64_t n_rows : {1, 2, 3, 4, 5, 6, 7, 8, 9, 33}) {
                if (n_in == 1536 && n_rows > 9) continue;
                const std::vector<float> x = random_rows(n_rows, n_in, rng);
                std::vector<float> y_ref(static_cast<size_t>(n_rows * n_out));
                lf::matmul_reference(wg, x.data(), n_rows, y_ref.data());
                for (cpu_isa isa : levels)
                    for (lf::thread_pool& pool : pools) {
                        std::vector<float> yg(y_ref.size()), yp(y_ref.size());
                        lf::matmul_isa(isa, wg, x.data(), n_rows, yg.data(), pool);
                        lf::matmul_isa(isa, wp, x.data(), n_rows, yp.data(), pool);
                        const std::string at = std::string(lf::isa_name(isa)) + " " + std::to_string(n_in) + "x" +
                                               std::to_string(n_out) + " rows " + std::to_string(n_rows) +
                                               " threads " + std::to_string(pool.size());
                        EXPECT_TRUE(same_bits(yg, yp)) << at;
                        if (isa == cpu_isa::scalar) {
                            EXPECT_TRUE(same_bits(yp, y_ref)) << at;
                        }
                    }
            }
        }
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

// Levels that cannot read the packed layout, and selected-row products (whose one-row views
// assume the GGUF layout), refuse it with a message instead of computing garbage.
TEST(Q4x8, PackedIsRefusedWhereItCannotBeRead) {
    std::mt19937 rng(15);
    lf::thread_pool pool(1);
    const int64_t n_in = 256, n_out = 4;
    const std::vector<uint8_t> plain = random_q4_0(n_in, n_out, rng);
    std::vector<uint8_t> packed(plain.size());
    const lf::weight_view wp = lf::pack_q4_0_x8({dtype::q4_0, plain.data(), n_in, n_out}, packed.data());
    const std::vector<float> x = random_rows(1, n_in, rng);
    std::vector<float> y(n_out);
    const int32_t ids[2] = {0, 3};
    EXPECT_THROW(lf::matmul_rows(wp, ids, 2, x.data(), y.data(), pool), lf::error);
    for (cpu_isa isa : {cpu_isa::avx512, cpu_isa::neon})
        if (lf::isa_supported(isa)) {
            EXPECT_THROW(lf::matmul_isa(isa, wp, x.data(), 1, y.data(), pool), lf::error);
        }
    // A packed view whose n_in is not a whole number of groups is malformed.
    EXPECT_DEATH_IF_SUPPORTED(
        lf::matmul_isa(cpu_isa::scalar, {dtype::q4_0, packed.data(), 224, 1, lf::weight_layout::q4_0_x8}, x.data(), 1,
                       y.data(), pool),
        "");
}

}  // namespace
