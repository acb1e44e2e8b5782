// GGUF reader for untrusted files. Every count and length is checked against the bytes that
// remain before anything is allocated, so a hostile header can neither crash the reader nor make
// it allocate more than a small multiple of the file's own size.
#include <algorithm>
#include <cstring>
#include <limits>

#include "core/error.h"
#include "gguf/gguf.h"

namespace lf {

namespace {

constexpr uint32_t k_max_dims = 4;         // ggml's GGML_MAX_DIMS
constexpr int k_max_array_depth = 3;       // nested arrays deeper than this are refused
constexpr uint64_t k_max_alignment = 1u << 20;

struct cursor {
    const uint8_t* p;
    size_t size;
    size_t pos = 0;
    std::string context;  // what is being read, for error messages

    size_t remaining() const { return size - pos; }

    void need(size_t n, const char* what) {
        if (n > remaining())
            fail("truncated file: {} needs {} bytes at offset {} but only {} remain{}", what, n, pos,
                 remaining(), context.empty() ? "" : " (" + context + ")");
    }
    template <typename T>
    T read(const char* what) {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, p + pos, sizeof(T));
        pos += sizeof(T);
        return v;
    }
    std::string read_string(const char* what) {
        uint64_t n = read<uint64_t>(what);
        if (n > remaining())
            fail("{} has length {} but only {} bytes remain{}", what, n, remaining(),
                 context.empty() ? "" : " (" + context + ")");
        std::string s(reinterpret_cast<const char*>(p + pos), n);
        pos += n;
        return s;
    }
};

size_t scalar_size(gguf_type t) {
    switch (t) {
        case gguf_type::u8: case gguf_type::i8: case gguf_type::boolean: return 1;
        case gguf_type::u16: case gguf_type::i16: return 2;
        case gguf_type::u32: case gguf_type::i32: case gguf_type::f32: return 4;
        case gguf_type::u64: case gguf_type::i64: case gguf_type::f64: return 8;
        default: return 0;
    }
}

bool is_unsigned(gguf_type t) {
    return t == gguf_type::u8 || t == gguf_type::u16 || t == gguf_type::u32 || t == gguf_type::u64;
}
bool is_signed(gguf_type t) {
    return t == gguf_type::i8 || t == gguf_type::i16 || t == gguf_type::i32 || t == gguf_type::i64;
}
bool is_float(gguf_type t) { return t == gguf_type::f32 || t == gguf_type::f64; }

gguf_type read_type(cursor& c, const char* what) {
    uint32_t t = c.read<uint32_t>(what);
    if (t > static_cast<uint32_t>(gguf_type::f64)) fail("unknown metadata value type {} ({})", t, c.context);
    return static_cast<gguf_type>(t);
}

// Reads one scalar of type t into v's scalar fields.
void read_scalar(cursor& c, gguf_type t, gguf_value& v) {
    switch (t) {
        case gguf_type::u8: v.u = c.read<uint8_t>("u8 value"); break;
        case gguf_type::u16: v.u = c.read<uint16_t>("u16 value"); break;
        case gguf_type::u32: v.u = c.read<uint32_t>("u32 value"); break;
        case gguf_type::u64: v.u = c.read<uint64_t>("u64 value"); break;
        case gguf_type::i8: v.i = c.read<int8_t>("i8 value"); break;
        case gguf_type::i16: v.i = c.read<int16_t>("i16 value"); break;
        case gguf_type::i32: v.i = c.read<int32_t>("i32 value"); break;
        case gguf_type::i64: v.i = c.read<int64_t>("i64 value"); break;
        case gguf_type::f32: v.f = c.read<float>("f32 value"); break;
        case gguf_type::f64: v.f = c.read<double>("f64 value"); break;
        case gguf_type::boolean: {
            uint8_t b = c.read<uint8_t>("bool value");
            if (b > 1) fail("bool value {} is neither 0 nor 1 ({})", b, c.context);
            v.b = b != 0;
            break;
        }
        case gguf_type::str: v.s = c.read_string("string value"); break;
        case gguf_type::arr: abort_at(__FILE__, __LINE__, "array passed to read_scalar");
    }
}

gguf_value read_value(cursor& c, gguf_type t, int depth) {
    gguf_value v;
    v.type = t;
    if (t != gguf_type::arr) {
        read_scalar(c, t, v);
        return v;
    }
    if (depth >= k_max_array_depth) fail("arrays nested deeper than {} ({})", k_max_array_depth, c.context);
    v.elem = read_type(c, "array element type");
    uint64_t n = c.read<uint64_t>("array length");
    // Every element takes at least this many bytes in the file, which bounds n before allocating.
    size_t min_elem = v.elem == gguf_type::str ? 8 : v.elem == gguf_type::arr ? 12 : scalar_size(v.elem);
    if (n > c.remaining() / min_elem)
        fail("array of {} {} elements cannot fit in the {} bytes that remain ({})", n, gguf_type_name(v.elem),
             c.remaining(), c.context);
    if (v.elem == gguf_type::str) {
        v.arr_s.reserve(n);
        for (uint64_t k = 0; k < n; ++k) v.arr_s.push_back(c.read_string("array string"));
    } else if (v.elem == gguf_type::arr) {
        v.arr_nested.reserve(n);
        for (uint64_t k = 0; k < n; ++k) v.arr_nested.push_back(read_value(c, gguf_type::arr, depth + 1));
    } else {
        gguf_value tmp;
        if (is_float(v.elem)) v.arr_f.reserve(n);
        else if (is_signed(v.elem)) v.arr_i.reserve(n);
        else v.arr_u.reserve(n);
        for (uint64_t k = 0; k < n; ++k) {
            read_scalar(c, v.elem, tmp);
            if (is_float(v.elem)) v.arr_f.push_back(tmp.f);
            else if (is_signed(v.elem)) v.arr_i.push_back(tmp.i);
            else if (v.elem == gguf_type::boolean) v.arr_u.push_back(tmp.b ? 1 : 0);
            else v.arr_u.push_back(tmp.u);
        }
    }
    return v;
}

}  // namespace

struct gguf_parser {
    static void parse(gguf_file& f) {
        cursor c{f.base_, f.size_, 0, {}};
        c.need(4, "magic");
        if (std::memcmp(f.base_, "GGUF", 4) != 0) fail("not a GGUF file (bad magic)");
        c.pos = 4;
        f.version = c.read<uint32_t>("version");
        if (f.version != 2 && f.version != 3) fail("unsupported GGUF version {} (expected 3)", f.version);
        uint64_t n_tensors = c.read<uint64_t>("tensor count");
        uint64_t n_kv = c.read<uint64_t>("metadata count");
        // A key/value pair takes at least 8 (key length) + 4 (type) + 1 bytes; a tensor info
        // at least 8 + 4 + 8 + 4 + 8.
        if (n_kv > c.remaining() / 13) fail("metadata count {} is larger than the file can hold", n_kv);
        if (n_tensors > c.remaining() / 32) fail("tensor count {} is larger than the file can hold", n_tensors);

        f.kv.reserve(n_kv);
        for (uint64_t k = 0; k < n_kv; ++k) {
            c.context = "metadata entry " + std::to_string(k);
            std::string key = c.read_string("key");
            c.context = "key '" + key + "'";
            if (f.kv_index_.count(key)) fail("duplicate metadata key '{}'", key);
            gguf_type t = read_type(c, "value type");
            gguf_value v = read_value(c, t, 0);
            f.kv_index_[key] = f.kv.size();
            f.kv.emplace_back(std::move(key), std::move(v));
        }
        c.context.clear();

        if (const gguf_value* a = f.find("general.alignment")) {
            if (a->type != gguf_type::u32) fail("key 'general.alignment' must be u32, found {}", gguf_type_name(a->type));
            if (a->u == 0 || (a->u & (a->u - 1)) != 0 || a->u > k_max_alignment)
                fail("key 'general.alignment' = {} is not a power of two up to {}", a->u, k_max_alignment);
            f.alignment = a->u;
        }

        f.tensors.reserve(n_tensors);
        for (uint64_t k = 0; k < n_tensors; ++k) {
            c.context = "tensor info " + std::to_string(k);
            gguf_tensor t;
            t.name = c.read_string("tensor name");
            c.context = "tensor '" + t.name + "'";
            if (f.tensor_index_.count(t.name)) fail("duplicate tensor name '{}'", t.name);
            uint32_t n_dims = c.read<uint32_t>("dimension count");
            if (n_dims > k_max_dims) fail("tensor '{}' has {} dimensions (at most {})", t.name, n_dims, k_max_dims);
            uint64_t n_elem = 1;
            for (uint32_t d = 0; d < n_dims; ++d) {
                uint64_t ne = c.read<uint64_t>("dimension");
                if (ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
                    (ne != 0 && n_elem > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / ne))
                    fail("tensor '{}' dimensions overflow", t.name);
                n_elem *= ne;
                t.ne.push_back(static_cast<int64_t>(ne));
            }
            uint32_t type_id = c.read<uint32_t>("tensor type");
            auto type = dtype_from_id(type_id);
            if (!type) fail("tensor '{}' has unsupported type id {}", t.name, type_id);
            t.type = *type;
            const auto& tr = traits(t.type);
            int64_t ne0 = t.ne.empty() ? 1 : t.ne[0];
            if (ne0 % tr.block_elems != 0)
                fail("tensor '{}' row length {} is not a multiple of the {} block size {}", t.name, ne0, tr.name,
                     tr.block_elems);
            uint64_t n_blocks = n_elem / static_cast<uint64_t>(tr.block_elems);
            if (n_blocks > std::numeric_limits<uint64_t>::max() / tr.block_bytes)
                fail("tensor '{}' byte size overflows", t.name);
            t.n_bytes = n_blocks * tr.block_bytes;
            t.offset = c.read<uint64_t>("tensor offset");
            if (t.offset % f.alignment != 0)
                fail("tensor '{}' offset {} is not aligned to {}", t.name, t.offset, f.alignment);
            f.tensor_index_[t.name] = f.tensors.size();
            f.tensors.push_back(std::move(t));
        }
        c.context.clear();

        // The data section starts at the next multiple of the alignment.
        size_t header_end = c.pos;
        size_t data_start = (header_end + f.alignment - 1) / f.alignment * f.alignment;
        if (f.tensors.empty()) data_start = std::min(data_start, f.size_);
        if (data_start > f.size_) fail("truncated file: data section would start at {} but the file has {} bytes", data_start, f.size_);
        f.data_offset_ = data_start;
        size_t data_size = f.size_ - data_start;
        for (auto& t : f.tensors) {
            if (t.offset > data_size || t.n_bytes > data_size - t.offset)
                fail("tensor '{}' data [{}, +{}) lies outside the file's {} data bytes", t.name, t.offset, t.n_bytes,
                     data_size);
            t.data = f.base_ + data_start + t.offset;
        }
        std::vector<const gguf_tensor*> by_offset;
        for (auto& t : f.tensors) by_offset.push_back(&t);
        std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
        for (size_t k = 1; k < by_offset.size(); ++k) {
            const gguf_tensor* a = by_offset[k - 1];
            const gguf_tensor* b = by_offset[k];
            if (a->n_bytes > 0 && b->n_bytes > 0 && a->offset + a->n_bytes > b->offset)
                fail("tensors '{}' and '{}' overlap", a->name, b->name);
        }
    }
};

gguf_file gguf_file::open(const std::string& path, file_load how) {
    gguf_file f;
    f.map_ = std::make_shared<mmap_file>(path, how);
    f.base_ = f.map_->data();
    f.size_ = f.map_->size();
    try {
        gguf_parser::parse(f);
    } catch (const error& e) {
        fail("{}: {}", path, e.what());
    }
    return f;
}

gguf_file gguf_file::from_memory(const uint8_t* data, size_t size) {
    gguf_file f;
    f.base_ = data;
    f.size_ = size;
    gguf_parser::parse(f);
    return f;
}

void gguf_file::drop_tensor_pages(const gguf_tensor& t) const {
    if (map_) map_->drop_pages(t.data, t.n_bytes);
}

uint8_t* gguf_file::writable_tensor(const gguf_tensor& t) const {
    return map_ ? map_->writable(t.data, t.n_bytes) : nullptr;
}

void gguf_file::protect_tensor(const gguf_tensor& t) const {
    if (map_) map_->protect(t.data, t.n_bytes);
}

int64_t gguf_tensor::n_elements() const {
    int64_t n = 1;
    for (int64_t d : ne) n *= d;
    return n;
}

const gguf_value* gguf_file::find(const std::string& key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv[it->second].second;
}

const gguf_tensor* gguf_file::find_tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors[it->second];
}

std::optional<int64_t> gguf_file::opt_int(const std::string& key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (is_unsigned(v->type)) {
        if (v->u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail("key '{}' value {} is too large", key, v->u);
        return static_cast<int64_t>(v->u);
    }
    if (is_signed(v->type)) return v->i;
    fail("key '{}' must be an integer, found {}", key, gguf_type_name(v->type));
}
int64_t gguf_file::get_int(const std::string& key) const {
    auto v = opt_int(key);
    if (!v) fail("missing metadata key '{}'", key);
    return *v;
}
std::optional<double> gguf_file::opt_float(const std::string& key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (!is_float(v->type)) fail("key '{}' must be a float, found {}", key, gguf_type_name(v->type));
    return v->f;
}
double gguf_file::get_float(const std::string& key) const {
    auto v = opt_float(key);
    if (!v) fail("missing metadata key '{}'", key);
    return *v;
}
std::optional<bool> gguf_file::opt_bool(const std::string& key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != gguf_type::boolean) fail("key '{}' must be a bool, found {}", key, gguf_type_name(v->type));
    return v->b;
}
bool gguf_file::get_bool(const std::string& key) const {
    auto v = opt_bool(key);
    if (!v) fail("missing metadata key '{}'", key);
    return *v;
}
std::optional<std::string> gguf_file::opt_str(const std::string& key) const {
    const gguf_value* v = find(key);
    if (!v) return std::nullopt;
    if (v->type != gguf_type::str) fail("key '{}' must be a string, found {}", key, gguf_type_name(v->type));
    return v->s;
}
const std::string& gguf_file::get_str(const std::string& key) const {
    const gguf_value* v = find(key);
    if (!v) fail("missing metadata key '{}'", key);
    if (v->type != gguf_type::str) fail("key '{}' must be a string, found {}", key, gguf_type_name(v->type));
    return v->s;
}
std::vector<int64_t> gguf_file::get_int_array(const std::string& key) const {
    const gguf_value* v = find(key);
    if (!v) fail("missing metadata key '{}'", key);
    if (v->type != gguf_type::arr || !(is_unsigned(v->elem) || is_signed(v->elem) || v->elem == gguf_type::boolean))
        fail("key '{}' must be an integer array", key);
    if (is_signed(v->elem)) return v->arr_i;
    std::vector<int64_t> out;
    out.reserve(v->arr_u.size());
    for (uint64_t x : v->arr_u) {
        if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) fail("key '{}' holds a value too large", key);
        out.push_back(static_cast<int64_t>(x));
    }
    return out;
}
std::vector<double> gguf_file::get_float_array(const std::string& key) const {
    const gguf_value* v = find(key);
    if (!v) fail("missing metadata key '{}'", key);
    if (v->type != gguf_type::arr || !is_float(v->elem)) fail("key '{}' must be a float array", key);
    return v->arr_f;
}
const std::vector<std::string>& gguf_file::get_str_array(const std::string& key) const {
    const gguf_value* v = find(key);
    if (!v) fail("missing metadata key '{}'", key);
    if (v->type != gguf_type::arr || v->elem != gguf_type::str) fail("key '{}' must be a string array", key);
    return v->arr_s;
}

}  // namespace lf
