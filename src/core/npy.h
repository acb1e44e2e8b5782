// Writes float32 arrays in NumPy's .npy format (version 1.0, little-endian, C order).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace lf {

// data: f32 [shape[0], shape[1], ...]; throws lf::error on I/O failure.
void write_npy_f32(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace lf
