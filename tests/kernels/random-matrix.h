// Random weight matrices for the kernel tests.
#pragma once
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "quant/quant.h"

namespace lf::test {

// Bytes of a `type` matrix [n_out, n_in]: normal values, each row scaled by 10^u with u uniform
// in [-decades, decades], quantized with the reference quantizer.
inline std::vector<uint8_t> random_matrix(dtype type, int64_t n_in, int64_t n_out, float decades, std::mt19937& rng) {
    const size_t rb = row_bytes(type, n_in);
    std::vector<uint8_t> bytes(rb * n_out);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::uniform_real_distribution<float> decade(-decades, decades);
    std::vector<float> row(n_in);
    for (int64_t o = 0; o < n_out; ++o) {
        const float scale = std::pow(10.0f, decade(rng));
        for (auto& v : row) v = dist(rng) * scale;
        quantize_row(type, row.data(), bytes.data() + o * rb, n_in);
    }
    return bytes;
}

}  // namespace lf::test
