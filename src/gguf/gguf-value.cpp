// gguf_value helpers: constructors, equality, type names.
#include <cstring>

#include "gguf/gguf.h"

namespace lf {

const char* gguf_type_name(gguf_type t) {
    switch (t) {
        case gguf_type::u8: return "u8";
        case gguf_type::i8: return "i8";
        case gguf_type::u16: return "u16";
        case gguf_type::i16: return "i16";
        case gguf_type::u32: return "u32";
        case gguf_type::i32: return "i32";
        case gguf_type::f32: return "f32";
        case gguf_type::boolean: return "bool";
        case gguf_type::str: return "string";
        case gguf_type::arr: return "array";
        case gguf_type::u64: return "u64";
        case gguf_type::i64: return "i64";
        case gguf_type::f64: return "f64";
    }
    return "unknown";
}

size_t gguf_value::array_size() const {
    return arr_u.size() + arr_i.size() + arr_f.size() + arr_s.size() + arr_nested.size();
}

gguf_value gguf_value::make_u32(uint32_t v) { gguf_value x; x.type = gguf_type::u32; x.u = v; return x; }
gguf_value gguf_value::make_i32(int32_t v) { gguf_value x; x.type = gguf_type::i32; x.i = v; return x; }
gguf_value gguf_value::make_u64(uint64_t v) { gguf_value x; x.type = gguf_type::u64; x.u = v; return x; }
gguf_value gguf_value::make_f32(float v) { gguf_value x; x.type = gguf_type::f32; x.f = v; return x; }
gguf_value gguf_value::make_bool(bool v) { gguf_value x; x.type = gguf_type::boolean; x.b = v; return x; }
gguf_value gguf_value::make_str(std::string v) { gguf_value x; x.type = gguf_type::str; x.s = std::move(v); return x; }

gguf_value gguf_value::make_arr_str(std::vector<std::string> v) {
    gguf_value x; x.type = gguf_type::arr; x.elem = gguf_type::str; x.arr_s = std::move(v); return x;
}
gguf_value gguf_value::make_arr_f32(const std::vector<float>& v) {
    gguf_value x; x.type = gguf_type::arr; x.elem = gguf_type::f32; x.arr_f.assign(v.begin(), v.end()); return x;
}
gguf_value gguf_value::make_arr_i32(const std::vector<int32_t>& v) {
    gguf_value x; x.type = gguf_type::arr; x.elem = gguf_type::i32; x.arr_i.assign(v.begin(), v.end()); return x;
}
gguf_value gguf_value::make_arr_u32(const std::vector<uint32_t>& v) {
    gguf_value x; x.type = gguf_type::arr; x.elem = gguf_type::u32; x.arr_u.assign(v.begin(), v.end()); return x;
}
gguf_value gguf_value::make_arr_bool(const std::vector<bool>& v) {
    gguf_value x; x.type = gguf_type::arr; x.elem = gguf_type::boolean;
    for (bool b : v) x.arr_u.push_back(b ? 1 : 0);
    return x;
}

bool operator==(const gguf_value& a, const gguf_value& b) {
    if (a.type != b.type) return false;
    if (a.type == gguf_type::arr) {
        if (a.elem != b.elem) return false;
        if (a.arr_f.size() != b.arr_f.size()) return false;
        // Compare floats bitwise so NaN payloads and -0 round-trip exactly.
        for (size_t k = 0; k < a.arr_f.size(); ++k)
            if (std::memcmp(&a.arr_f[k], &b.arr_f[k], sizeof(double)) != 0) return false;
        return a.arr_u == b.arr_u && a.arr_i == b.arr_i && a.arr_s == b.arr_s && a.arr_nested == b.arr_nested;
    }
    return a.u == b.u && a.i == b.i && std::memcmp(&a.f, &b.f, sizeof(double)) == 0 && a.b == b.b && a.s == b.s;
}

}  // namespace lf
