#include "core/dtype.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "core/error.h"

namespace lf {
namespace {
constexpr dtype_traits k_f32{"f32", 1, 4};
constexpr dtype_traits k_f16{"f16", 1, 2};
constexpr dtype_traits k_bf16{"bf16", 1, 2};
constexpr dtype_traits k_q8_0{"q8_0", 32, 34};  // f16 scale + 32 x int8
constexpr dtype_traits k_q4_0{"q4_0", 32, 18};  // f16 scale + 16 bytes of nibbles
}  // namespace

const dtype_traits& traits(dtype t) {
    switch (t) {
        case dtype::f32: return k_f32;
        case dtype::f16: return k_f16;
        case dtype::bf16: return k_bf16;
        case dtype::q8_0: return k_q8_0;
        case dtype::q4_0: return k_q4_0;
    }
    abort_at(__FILE__, __LINE__, "unknown dtype");
}

std::optional<dtype> dtype_from_id(uint32_t id) {
    switch (id) {
        case 0: return dtype::f32;
        case 1: return dtype::f16;
        case 2: return dtype::q4_0;
        case 8: return dtype::q8_0;
        case 30: return dtype::bf16;
        default: return std::nullopt;
    }
}

std::optional<dtype> dtype_from_name(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    for (dtype t : {dtype::f32, dtype::f16, dtype::bf16, dtype::q8_0, dtype::q4_0})
        if (traits(t).name == lower) return t;
    return std::nullopt;
}

}  // namespace lf
