// Writes GGUF v3 files. Tensor data is produced on demand while writing so that converting a
// large checkpoint never holds more than one tensor in memory.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace lf {

class gguf_writer {
public:
    // Fills `out` with exactly the tensor's bytes (row_bytes(type, ne[0]) * rows).
    using tensor_source = std::function<void(std::vector<uint8_t>& out)>;

    void set(const std::string& key, gguf_value value);  // replaces an existing key in place
    void set_u32(const std::string& key, uint32_t v) { set(key, gguf_value::make_u32(v)); }
    void set_f32(const std::string& key, float v) { set(key, gguf_value::make_f32(v)); }
    void set_bool(const std::string& key, bool v) { set(key, gguf_value::make_bool(v)); }
    void set_str(const std::string& key, std::string v) { set(key, gguf_value::make_str(std::move(v))); }

    void add_tensor(const std::string& name, dtype type, std::vector<int64_t> ne, tensor_source source);
    // Copies bytes that already exist (e.g. from another GGUF's map).
    void add_tensor_bytes(const std::string& name, dtype type, std::vector<int64_t> ne,
                          const uint8_t* data, size_t n_bytes);

    // Writes the file (to path + ".tmp", then renames). `progress(i, n, name)` is called before
    // each tensor. Throws lf::error on I/O failure or when a source yields the wrong byte count.
    void write(const std::string& path,
               const std::function<void(size_t, size_t, const std::string&)>& progress = {}) const;

    uint64_t alignment = 32;
    std::vector<std::pair<std::string, gguf_value>> kv;

private:
    struct entry {
        std::string name;
        dtype type;
        std::vector<int64_t> ne;
        tensor_source source;
    };
    std::vector<entry> tensors_;
};

// Copies every key and tensor of a loaded file into a writer (read → write round trips).
gguf_writer writer_from(const gguf_file& f);

}  // namespace lf
