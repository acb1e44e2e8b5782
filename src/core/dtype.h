// Tensor element types with GGUF's type ids and block layouts.
// A row of n elements of a block type occupies (n / block_elems) * block_bytes bytes;
// n must be a multiple of block_elems.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lf {

enum class dtype : uint32_t {
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q8_0 = 8,
    bf16 = 30,
};

struct dtype_traits {
    std::string_view name;  // lowercase, as on the command line: "q4_0"
    int64_t block_elems;    // elements per block (1 for float types)
    size_t block_bytes;     // bytes per block
};

// Traits of a known type.
const dtype_traits& traits(dtype t);
// The type for a GGUF type id, or nothing when the id is not one we support.
std::optional<dtype> dtype_from_id(uint32_t id);
// The type for a name such as "q8_0" or "F16" (case-insensitive), or nothing.
std::optional<dtype> dtype_from_name(std::string_view name);
// Bytes of a row of n elements; n must be a multiple of the block size (checked by callers).
inline size_t row_bytes(dtype t, int64_t n) {
    const auto& tr = traits(t);
    return static_cast<size_t>(n / tr.block_elems) * tr.block_bytes;
}

}  // namespace lf
