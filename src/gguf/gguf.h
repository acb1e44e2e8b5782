// GGUF v3: metadata values, tensor descriptions, and the reader for untrusted files.
//
// Invariants after a successful load: every tensor has a known dtype, dimensions whose element
// count fits in int64 and whose first dimension is a multiple of the block size, and a data range
// that lies inside the file, aligned to general.alignment, overlapping no other tensor. Tensor data
// is not copied: gguf_tensor::data points into the memory map, which the gguf_file keeps alive.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/mmap-file.h"

namespace lf {

enum class gguf_type : uint32_t {
    u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
    str = 8, arr = 9, u64 = 10, i64 = 11, f64 = 12,
};
const char* gguf_type_name(gguf_type t);

// One metadata value. Scalars use the field matching their class (unsigned → u, signed → i,
// float → f, bool → b, string → s). Arrays set `elem` and fill the vector of the element's class
// (bools go to arr_u, nested arrays to arr_nested).
struct gguf_value {
    gguf_type type = gguf_type::u32;
    gguf_type elem = gguf_type::u32;
    uint64_t u = 0;
    int64_t i = 0;
    double f = 0;
    bool b = false;
    std::string s;
    std::vector<uint64_t> arr_u;
    std::vector<int64_t> arr_i;
    std::vector<double> arr_f;
    std::vector<std::string> arr_s;
    std::vector<gguf_value> arr_nested;

    size_t array_size() const;  // number of elements when type == arr

    // Constructors for writers.
    static gguf_value make_u32(uint32_t v);
    static gguf_value make_i32(int32_t v);
    static gguf_value make_u64(uint64_t v);
    static gguf_value make_f32(float v);
    static gguf_value make_bool(bool v);
    static gguf_value make_str(std::string v);
    static gguf_value make_arr_str(std::vector<std::string> v);
    static gguf_value make_arr_f32(const std::vector<float>& v);
    static gguf_value make_arr_i32(const std::vector<int32_t>& v);
    static gguf_value make_arr_u32(const std::vector<uint32_t>& v);
    static gguf_value make_arr_bool(const std::vector<bool>& v);
};

bool operator==(const gguf_value& a, const gguf_value& b);

struct gguf_tensor {
    std::string name;
    dtype type = dtype::f32;
    std::vector<int64_t> ne;        // GGUF order: ne[0] is the fastest-varying (row length)
    uint64_t offset = 0;            // relative to the start of the data section
    size_t n_bytes = 0;
    const uint8_t* data = nullptr;  // points into the file's map

    int64_t n_elements() const;
    int64_t n_rows() const { return ne.empty() ? 1 : n_elements() / ne[0]; }
};

class gguf_file {
public:
    // Loads and validates; throws lf::error naming the problem (and key/tensor) on bad input.
    static gguf_file open(const std::string& path, file_load how = file_load::map);
    // Same validation over a caller-owned buffer, which must outlive the result (fuzzing, tests).
    static gguf_file from_memory(const uint8_t* data, size_t size);

    uint32_t version = 3;
    uint64_t alignment = 32;
    std::vector<std::pair<std::string, gguf_value>> kv;  // in file order
    std::vector<gguf_tensor> tensors;                    // in file order

    const gguf_value* find(const std::string& key) const;
    const gguf_tensor* find_tensor(const std::string& name) const;

    // Typed getters that accept any compatible stored type (any integer type for get_int, f32 or
    // f64 for get_float). The required forms throw lf::error naming the key when it is absent or
    // has the wrong type; the optional forms return nothing when absent and throw on a wrong type.
    int64_t get_int(const std::string& key) const;
    std::optional<int64_t> opt_int(const std::string& key) const;
    double get_float(const std::string& key) const;
    std::optional<double> opt_float(const std::string& key) const;
    bool get_bool(const std::string& key) const;
    std::optional<bool> opt_bool(const std::string& key) const;
    const std::string& get_str(const std::string& key) const;
    std::optional<std::string> opt_str(const std::string& key) const;
    // Integer arrays (any integer or bool element type) and float arrays.
    std::vector<int64_t> get_int_array(const std::string& key) const;
    std::vector<double> get_float_array(const std::string& key) const;
    const std::vector<std::string>& get_str_array(const std::string& key) const;

    // Gives back the memory under a tensor's bytes that nobody will read through this file again
    // (mmap_file::drop_pages); nothing for a caller-owned buffer.
    void drop_tensor_pages(const gguf_tensor& t) const;
    // A file read into memory (file_load::copy): the tensor's bytes made writable, for its one
    // reader to rewrite in place (mmap_file::writable; protect_tensor after). nullptr otherwise.
    uint8_t* writable_tensor(const gguf_tensor& t) const;
    void protect_tensor(const gguf_tensor& t) const;

    // Size of the whole buffer and of the header (everything before the data section).
    size_t file_size() const { return size_; }
    size_t data_offset() const { return data_offset_; }

private:
    std::shared_ptr<mmap_file> map_;
    const uint8_t* base_ = nullptr;
    size_t size_ = 0;
    size_t data_offset_ = 0;
    std::map<std::string, size_t> kv_index_;
    std::map<std::string, size_t> tensor_index_;
    friend struct gguf_parser;
};

}  // namespace lf
