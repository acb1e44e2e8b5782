// Reader for Hugging Face safetensors checkpoints (one file, or shards listed by
// model.safetensors.index.json).
//
// Files are untrusted. After a successful open every tensor has a known dtype, a shape whose
// element count times the element size equals its data_offsets span (no overflow), and a byte
// range inside the file's data area that overlaps no other tensor. Tensor data is not copied:
// st_tensor::data points into the file's map, which the model keeps alive. Data may be unaligned.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mmap-file.h"

namespace lf {

// Element types safetensors defines. Only the float types (and integer types, for index buffers)
// can be read as values; the others are known so that headers holding them validate.
enum class st_dtype { boolean, u8, i8, u16, i16, f16, bf16, u32, i32, f32, u64, i64, f64, f8_e4m3, f8_e5m2 };

const char* st_dtype_name(st_dtype t);
size_t st_dtype_size(st_dtype t);

struct st_tensor {
    std::string name;
    st_dtype type = st_dtype::f32;
    std::vector<int64_t> shape;     // as stored: row-major, shape.back() is the fastest dimension
    const uint8_t* data = nullptr;  // into the map; not aligned
    size_t n_bytes = 0;
    std::string file;               // the file holding it (for messages)

    int64_t n_elements() const;
    // Length of a row (the last dimension; 1 for a scalar) and the number of rows.
    int64_t row_length() const { return shape.empty() ? 1 : shape.back(); }
    int64_t n_rows() const;
};

// One .safetensors file.
class safetensors_file {
public:
    // Maps and validates; throws lf::error naming the file and tensor on bad input.
    static safetensors_file open(const std::string& path);
    // Same validation over a caller-owned buffer that must outlive the result (tests).
    static safetensors_file from_memory(const uint8_t* data, size_t size, const std::string& label);

    std::vector<st_tensor> tensors;              // in data order
    std::map<std::string, std::string> metadata; // "__metadata__" (string values only)

private:
    std::shared_ptr<mmap_file> map_;
};

// All tensors of a checkpoint, across shards.
class safetensors_model {
public:
    // `path` is a directory (model.safetensors.index.json, else model.safetensors), an index file,
    // or a single .safetensors file.
    static safetensors_model open(const std::string& path);

    const st_tensor* find(const std::string& name) const;
    const st_tensor& get(const std::string& name) const;  // throws lf::error when absent
    std::vector<std::string> names() const;              // sorted
    size_t size() const { return index_.size(); }

    void add_file(safetensors_file f);  // throws on a tensor name already present

private:
    std::vector<std::unique_ptr<safetensors_file>> files_;
    std::map<std::string, const st_tensor*> index_;
};

// Converts `n` consecutive elements of `t`, starting at element `first`, to f32. Float types
// convert exactly (f16/bf16 widen); integer types must hold values whose magnitude is below 2^24
// so that f32 represents them exactly. Other types, or an out-of-range value, throw lf::error
// naming the tensor.
void st_read_f32(const st_tensor& t, int64_t first, int64_t n, float* dst);

// Whether st_read_f32 accepts the type at all.
bool st_readable_as_f32(st_dtype t);

}  // namespace lf
