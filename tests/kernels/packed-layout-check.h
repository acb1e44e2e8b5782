// Checks shared by the tests of the packed weight layouts (q4-x8, q8-x8): a packed matrix gives
// the GGUF layout's bits on every level that reads it, and is refused where it cannot be read.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/thread-pool.h"
#include "kernels/cpu/matmul.h"
#include "random-matrix.h"

namespace lf::test {

inline std::vector<float> random_rows(int64_t n_rows, int64_t n_in, std::mt19937& rng) {
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(n_rows * n_in));
    for (auto& v : x) v = dist(rng);
    return x;
}

inline bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// `type` matrices packed by pack(view, out) give the GGUF layout's bits on the scalar and avx2
// levels, through every tile: 1-9 and 33 activation rows (one-row tiles, pair tiles of 1-4 rows,
// several passes), odd and even weight row counts, and thread counts that cut the rows into
// different tasks. The scalar level also equals matmul_reference.
template <typename Pack>
void expect_packed_same_bits(dtype type, Pack pack, std::mt19937& rng) {
    std::vector<cpu_isa> levels = {cpu_isa::scalar};
    if (isa_supported(cpu_isa::avx2)) levels.push_back(cpu_isa::avx2);
    thread_pool pools[] = {thread_pool(1), thread_pool(2), thread_pool(3)};
    for (int64_t n_in : {256, 768, 1536})
        for (int64_t n_out : {1, 2, 3, 7, 64, 97}) {
            const std::vector<uint8_t> plain = random_matrix(type, n_in, n_out, 2.0f, rng);
            std::vector<uint8_t> packed(plain.size());
            const weight_view wg{type, plain.data(), n_in, n_out};
            const weight_view wp = pack(wg, packed.data());
            for (int64_t n_rows : {1, 2, 3, 4, 5, 6, 7, 8, 9, 33}) {
                if (n_in == 1536 && n_rows > 9) continue;
                const std::vector<float> x = random_rows(n_rows, n_in, rng);
                std::vector<float> y_ref(static_cast<size_t>(n_rows * n_out));
                matmul_reference(wg, x.data(), n_rows, y_ref.data());
                for (cpu_isa isa : levels)
                    for (thread_pool& pool : pools) {
                        std::vector<float> yg(y_ref.size()), yp(y_ref.size());
                        matmul_isa(isa, wg, x.data(), n_rows, yg.data(), pool);
                        matmul_isa(isa, wp, x.data(), n_rows, yp.data(), pool);
                        const std::string at = std::string(isa_name(isa)) + " " + std::to_string(n_in) + "x" +
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

// Levels that cannot read a packed layout, and selected-row products (whose one-row views assume
// the GGUF layout), refuse it with a message instead of computing garbage; a packed view whose
// n_in is not a whole number of groups is malformed.
template <typename Pack>
void expect_packed_refused(dtype type, weight_layout layout, Pack pack, std::mt19937& rng) {
    thread_pool pool(1);
    const int64_t n_in = 256, n_out = 4;
    const std::vector<uint8_t> plain = random_matrix(type, n_in, n_out, 2.0f, rng);
    std::vector<uint8_t> packed(plain.size());
    const weight_view wp = pack(weight_view{type, plain.data(), n_in, n_out}, packed.data());
    const std::vector<float> x = random_rows(1, n_in, rng);
    std::vector<float> y(n_out);
    const int32_t ids[2] = {0, 3};
    EXPECT_THROW(matmul_rows(wp, ids, 2, x.data(), y.data(), pool), error);
    for (cpu_isa isa : {cpu_isa::avx512, cpu_isa::neon})
        if (isa_supported(isa)) {
            EXPECT_THROW(matmul_isa(isa, wp, x.data(), 1, y.data(), pool), error);
        }
    EXPECT_DEATH_IF_SUPPORTED(
        matmul_isa(cpu_isa::scalar, {type, packed.data(), 224, 1, layout}, x.data(), 1, y.data(), pool), "");
}

}  // namespace lf::test
