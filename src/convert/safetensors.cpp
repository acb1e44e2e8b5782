// safetensors layout: u64 little-endian header length N, N bytes of JSON (an object mapping tensor
// name → {dtype, shape, data_offsets: [begin, end]} plus an optional "__metadata__" object of
// strings), then the data area; offsets are relative to the start of the data area.
// Everything in the header is checked before any tensor is handed out.
#include "convert/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "quant/quant.h"

namespace lf {

namespace {

// The reference implementation refuses headers above 100 MB; so do we.
constexpr uint64_t k_max_header_bytes = 100'000'000;
constexpr size_t k_max_dims = 8;
constexpr int k_max_json_depth = 16;

struct dtype_entry {
    const char* name;
    st_dtype type;
    size_t size;
};

constexpr dtype_entry k_dtypes[] = {
    {"BOOL", st_dtype::boolean, 1}, {"U8", st_dtype::u8, 1},     {"I8", st_dtype::i8, 1},
    {"U16", st_dtype::u16, 2},      {"I16", st_dtype::i16, 2},   {"F16", st_dtype::f16, 2},
    {"BF16", st_dtype::bf16, 2},    {"U32", st_dtype::u32, 4},   {"I32", st_dtype::i32, 4},
    {"F32", st_dtype::f32, 4},      {"U64", st_dtype::u64, 8},   {"I64", st_dtype::i64, 8},
    {"F64", st_dtype::f64, 8},      {"F8_E4M3", st_dtype::f8_e4m3, 1}, {"F8_E5M2", st_dtype::f8_e5m2, 1},
};

const dtype_entry* find_dtype(const std::string& name) {
    for (const auto& e : k_dtypes)
        if (name == e.name) return &e;
    return nullptr;
}

// Rejects absurd nesting before the JSON parser sees it (a valid header nests three levels).
void check_json_depth(const char* p, size_t n, const std::string& label) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < n; ++i) {
        char c = p[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '{' || c == '[') {
            if (++depth > k_max_json_depth) fail("{}: header JSON nests deeper than {} levels", label, k_max_json_depth);
        } else if (c == '}' || c == ']') --depth;
    }
}

uint64_t json_u64(const nlohmann::json& v, const std::string& label, const std::string& tensor, const char* field) {
    if (!v.is_number_integer() || (v.is_number_integer() && !v.is_number_unsigned() && v.get<int64_t>() < 0))
        fail("{}: tensor '{}': {} must hold non-negative integers", label, tensor, field);
    return v.get<uint64_t>();
}

safetensors_file parse(const uint8_t* data, size_t size, const std::string& label) {
    if (size < 8) fail("{}: file is {} bytes, too short for a safetensors header", label, size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; --i) header_len = header_len << 8 | data[i];
    if (header_len > k_max_header_bytes) fail("{}: header length {} exceeds the {} byte limit", label, header_len, k_max_header_bytes);
    if (header_len > size - 8) fail("{}: header length {} runs past the end of the file ({} bytes)", label, header_len, size);
    const char* text = reinterpret_cast<const char*>(data + 8);
    check_json_depth(text, header_len, label);

    nlohmann::json header;
    try {
        header = nlohmann::json::parse(text, text + header_len);
    } catch (const nlohmann::json::exception& e) {
        fail("{}: header is not valid JSON: {}", label, e.what());
    }
    if (!header.is_object()) fail("{}: header JSON is not an object", label);

    const uint8_t* data_area = data + 8 + header_len;
    uint64_t data_size = size - 8 - header_len;

    safetensors_file f;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        const auto& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) fail("{}: __metadata__ is not an object", label);
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string()) fail("{}: __metadata__ value '{}' is not a string", label, m.key());
                f.metadata[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        if (name.empty()) fail("{}: a tensor has an empty name", label);
        if (!v.is_object()) fail("{}: tensor '{}': entry is not an object", label, name);
        auto dt = v.find("dtype");
        auto sh = v.find("shape");
        auto off = v.find("data_offsets");
        if (dt == v.end() || !dt->is_string()) fail("{}: tensor '{}': missing or non-string dtype", label, name);
        if (sh == v.end() || !sh->is_array()) fail("{}: tensor '{}': missing or non-array shape", label, name);
        if (off == v.end() || !off->is_array() || off->size() != 2)
            fail("{}: tensor '{}': data_offsets must be an array of two integers", label, name);
        const dtype_entry* de = find_dtype(dt->get<std::string>());
        if (!de) fail("{}: tensor '{}': unknown dtype '{}'", label, name, dt->get<std::string>());
        if (sh->size() > k_max_dims) fail("{}: tensor '{}': {} dimensions (at most {})", label, name, sh->size(), k_max_dims);

        st_tensor t;
        t.name = name;
        t.type = de->type;
        t.file = label;
        // Element count times element size, refusing anything that would overflow: a dimension
        // can only be as large as the data area allows.
        bool zero = false;
        for (const auto& d : *sh) {
            uint64_t n = json_u64(d, label, name, "shape");
            if (n > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
                fail("{}: tensor '{}': dimension {} is too large", label, name, n);
            t.shape.push_back(static_cast<int64_t>(n));
            zero |= n == 0;
        }
        uint64_t bytes = zero ? 0 : de->size;
        for (int64_t n : t.shape) {
            if (zero) break;
            // bytes * n > data_size exactly when bytes > data_size / n (integer division).
            if (bytes > data_size / static_cast<uint64_t>(n))
                fail("{}: tensor '{}': shape {} x {} needs more bytes than the file's data area ({} bytes)", label,
                     name, sh->dump(), de->name, data_size);
            bytes *= static_cast<uint64_t>(n);
        }
        uint64_t begin = json_u64((*off)[0], label, name, "data_offsets");
        uint64_t end = json_u64((*off)[1], label, name, "data_offsets");
        if (begin > end) fail("{}: tensor '{}': data_offsets [{}, {}] are reversed", label, name, begin, end);
        if (end > data_size)
            fail("{}: tensor '{}': data_offsets [{}, {}] run past the data area ({} bytes)", label, name, begin, end, data_size);
        if (end - begin != bytes)
            fail("{}: tensor '{}': shape {} x {} needs {} bytes but data_offsets span {}", label, name,
                 sh->dump(), de->name, bytes, end - begin);
        t.data = data_area + begin;
        t.n_bytes = static_cast<size_t>(bytes);
        f.tensors.push_back(std::move(t));
    }

    std::sort(f.tensors.begin(), f.tensors.end(), [](const st_tensor& a, const st_tensor& b) {
        return a.data != b.data ? a.data < b.data : a.n_bytes < b.n_bytes;
    });
    const st_tensor* prev = nullptr;
    for (const auto& t : f.tensors) {
        if (t.n_bytes == 0) continue;
        if (prev && t.data < prev->data + prev->n_bytes)
            fail("{}: tensors '{}' and '{}' overlap in the data area", label, prev->name, t.name);
        prev = &t;
    }
    return f;
}

// Shard file names from an index must name files beside it, nothing else.
void check_shard_name(const std::string& file, const std::string& index_path) {
    if (file.empty() || file.find('/') != std::string::npos || file.find('\\') != std::string::npos ||
        file == "." || file == "..")
        fail("{}: weight_map names an invalid shard file '{}'", index_path, file);
}

}  // namespace

const char* st_dtype_name(st_dtype t) {
    for (const auto& e : k_dtypes)
        if (e.type == t) return e.name;
    return "?";
}

size_t st_dtype_size(st_dtype t) {
    for (const auto& e : k_dtypes)
        if (e.type == t) return e.size;
    return 0;
}

int64_t st_tensor::n_elements() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

int64_t st_tensor::n_rows() const {
    int64_t r = row_length();
    return r == 0 ? 0 : n_elements() / r;
}

safetensors_file safetensors_file::open(const std::string& path) {
    auto map = std::make_shared<mmap_file>(path);
    safetensors_file f = parse(map->data(), map->size(), path);
    f.map_ = std::move(map);
    return f;
}

safetensors_file safetensors_file::from_memory(const uint8_t* data, size_t size, const std::string& label) {
    return parse(data, size, label);
}

void safetensors_model::add_file(safetensors_file f) {
    auto owned = std::make_unique<safetensors_file>(std::move(f));
    for (const auto& t : owned->tensors) {
        auto [it, inserted] = index_.emplace(t.name, &t);
        if (!inserted) fail("tensor '{}' appears in both '{}' and '{}'", t.name, it->second->file, t.file);
    }
    files_.push_back(std::move(owned));
}

safetensors_model safetensors_model::open(const std::string& path) {
    namespace fs = std::filesystem;
    std::string index_path;
    std::string single_path;
    std::error_code ec;
    if (fs::is_directory(path, ec)) {
        if (fs::exists(fs::path(path) / "model.safetensors.index.json", ec))
            index_path = (fs::path(path) / "model.safetensors.index.json").string();
        else if (fs::exists(fs::path(path) / "model.safetensors", ec))
            single_path = (fs::path(path) / "model.safetensors").string();
        else
            fail("'{}' holds neither model.safetensors nor model.safetensors.index.json", path);
    } else if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0) {
        index_path = path;
    } else {
        single_path = path;
    }

    safetensors_model m;
    if (!single_path.empty()) {
        m.add_file(safetensors_file::open(single_path));
        return m;
    }

    mmap_file index_map(index_path);
    nlohmann::json index;
    try {
        const char* p = reinterpret_cast<const char*>(index_map.data());
        check_json_depth(p, index_map.size(), index_path);
        index = nlohmann::json::parse(p, p + index_map.size());
    } catch (const nlohmann::json::exception& e) {
        fail("{}: not valid JSON: {}", index_path, e.what());
    }
    if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object())
        fail("{}: missing the weight_map object", index_path);
    std::map<std::string, std::string> weight_map;
    std::set<std::string> shards;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
        if (!it.value().is_string()) fail("{}: weight_map entry '{}' is not a string", index_path, it.key());
        std::string file = it.value().get<std::string>();
        check_shard_name(file, index_path);
        weight_map[it.key()] = file;
        shards.insert(file);
    }
    fs::path dir = fs::path(index_path).parent_path();
    for (const auto& s : shards) m.add_file(safetensors_file::open((dir / s).string()));
    for (const auto& [name, file] : weight_map) {
        const st_tensor* t = m.find(name);
        if (!t) fail("{}: tensor '{}' is listed in weight_map but absent from '{}'", index_path, name, file);
        if (fs::path(t->file).filename() != file)
            fail("{}: tensor '{}' is listed in '{}' but found in '{}'", index_path, name, file, t->file);
    }
    return m;
}

const st_tensor* safetensors_model::find(const std::string& name) const {
    auto it = index_.find(name);
    return it == index_.end() ? nullptr : it->second;
}

const st_tensor& safetensors_model::get(const std::string& name) const {
    const st_tensor* t = find(name);
    if (!t) fail("checkpoint has no tensor '{}'", name);
    return *t;
}

std::vector<std::string> safetensors_model::names() const {
    std::vector<std::string> out;
    out.reserve(index_.size());
    for (const auto& [name, t] : index_) out.push_back(name);
    return out;
}

bool st_readable_as_f32(st_dtype t) {
    switch (t) {
        case st_dtype::f32: case st_dtype::f16: case st_dtype::bf16:
        case st_dtype::i64: case st_dtype::i32: case st_dtype::i16: case st_dtype::i8:
        case st_dtype::u8: case st_dtype::u16: case st_dtype::u32: case st_dtype::u64:
            return true;
        default:
            return false;
    }
}

namespace {

template <typename T>
void read_ints(const st_tensor& t, int64_t first, int64_t n, float* dst) {
    // Integer buffers (e.g. token orderings) must survive the trip through f32 unchanged.
    constexpr double limit = 16777216.0;  // 2^24
    const uint8_t* p = t.data + static_cast<size_t>(first) * sizeof(T);
    for (int64_t i = 0; i < n; ++i) {
        T v;
        std::memcpy(&v, p + static_cast<size_t>(i) * sizeof(T), sizeof(T));
        double d = static_cast<double>(v);
        if (d >= limit || d <= -limit)
            fail("tensor '{}': value {} at element {} cannot be represented exactly as f32", t.name, d, first + i);
        dst[i] = static_cast<float>(v);
    }
}

}  // namespace

void st_read_f32(const st_tensor& t, int64_t first, int64_t n, float* dst) {
    if (first < 0 || n < 0 || first + n > t.n_elements())
        abort_at(__FILE__, __LINE__, "st_read_f32 range outside the tensor");
    size_t es = st_dtype_size(t.type);
    const uint8_t* p = t.data + static_cast<size_t>(first) * es;
    switch (t.type) {
        case st_dtype::f32:
            std::memcpy(dst, p, static_cast<size_t>(n) * 4);
            return;
        case st_dtype::f16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                dst[i] = fp16_to_fp32(h);
            }
            return;
        case st_dtype::bf16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t h;
                std::memcpy(&h, p + 2 * i, 2);
                dst[i] = bf16_to_fp32(h);
            }
            return;
        case st_dtype::i64: return read_ints<int64_t>(t, first, n, dst);
        case st_dtype::i32: return read_ints<int32_t>(t, first, n, dst);
        case st_dtype::i16: return read_ints<int16_t>(t, first, n, dst);
        case st_dtype::i8: return read_ints<int8_t>(t, first, n, dst);
        case st_dtype::u64: return read_ints<uint64_t>(t, first, n, dst);
        case st_dtype::u32: return read_ints<uint32_t>(t, first, n, dst);
        case st_dtype::u16: return read_ints<uint16_t>(t, first, n, dst);
        case st_dtype::u8: return read_ints<uint8_t>(t, first, n, dst);
        default:
            fail("tensor '{}' in '{}' has dtype {}; only F32, F16 and BF16 weights can be converted", t.name, t.file,
                 st_dtype_name(t.type));
    }
}

}  // namespace lf
