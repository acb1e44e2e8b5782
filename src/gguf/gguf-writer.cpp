// GGUF v3 writer. Offsets are computed from the declared shapes before any data is produced, the
// header is written, then each tensor's bytes are produced, checked against the declared size,
// written and padded to the alignment.
#include "gguf/gguf-writer.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "core/error.h"

namespace lf {

namespace {

class file_out {
public:
    explicit file_out(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
        if (!f_) fail("cannot create '{}': {}", path, std::strerror(errno));
    }
    ~file_out() { if (f_) std::fclose(f_); }
    void bytes(const void* p, size_t n) {
        if (n && std::fwrite(p, 1, n, f_) != n) fail("write to '{}' failed: {}", path_, std::strerror(errno));
        pos_ += n;
    }
    template <typename T> void pod(T v) { bytes(&v, sizeof(T)); }
    void str(const std::string& s) { pod<uint64_t>(s.size()); bytes(s.data(), s.size()); }
    void pad_to(uint64_t alignment) {
        static const uint8_t zeros[64] = {};
        while (pos_ % alignment) {
            size_t n = std::min<uint64_t>(alignment - pos_ % alignment, sizeof zeros);
            bytes(zeros, n);
        }
    }
    void close() {
        if (std::fclose(f_) != 0) { f_ = nullptr; fail("closing '{}' failed: {}", path_, std::strerror(errno)); }
        f_ = nullptr;
    }
    uint64_t pos() const { return pos_; }

private:
    std::string path_;
    FILE* f_;
    uint64_t pos_ = 0;
};

void write_scalar(file_out& o, gguf_type t, const gguf_value& v, size_t k = SIZE_MAX) {
    // k selects an array element; SIZE_MAX means the scalar fields.
    auto u = [&] { return k == SIZE_MAX ? v.u : v.arr_u[k]; };
    auto i = [&] { return k == SIZE_MAX ? v.i : v.arr_i[k]; };
    auto f = [&] { return k == SIZE_MAX ? v.f : v.arr_f[k]; };
    switch (t) {
        case gguf_type::u8: o.pod<uint8_t>(static_cast<uint8_t>(u())); break;
        case gguf_type::u16: o.pod<uint16_t>(static_cast<uint16_t>(u())); break;
        case gguf_type::u32: o.pod<uint32_t>(static_cast<uint32_t>(u())); break;
        case gguf_type::u64: o.pod<uint64_t>(u()); break;
        case gguf_type::i8: o.pod<int8_t>(static_cast<int8_t>(i())); break;
        case gguf_type::i16: o.pod<int16_t>(static_cast<int16_t>(i())); break;
        case gguf_type::i32: o.pod<int32_t>(static_cast<int32_t>(i())); break;
        case gguf_type::i64: o.pod<int64_t>(i()); break;
        case gguf_type::f32: o.pod<float>(static_cast<float>(f())); break;
        case gguf_type::f64: o.pod<double>(f()); break;
        case gguf_type::boolean: o.pod<uint8_t>(k == SIZE_MAX ? (v.b ? 1 : 0) : static_cast<uint8_t>(v.arr_u[k])); break;
        case gguf_type::str: o.str(k == SIZE_MAX ? v.s : v.arr_s[k]); break;
        case gguf_type::arr: abort_at(__FILE__, __LINE__, "array passed to write_scalar");
    }
}

void write_value(file_out& o, const gguf_value& v) {
    if (v.type != gguf_type::arr) {
        write_scalar(o, v.type, v);
        return;
    }
    o.pod<uint32_t>(static_cast<uint32_t>(v.elem));
    o.pod<uint64_t>(v.array_size());
    if (v.elem == gguf_type::arr) {
        // Each element is itself an array: element type, count, elements (no outer type tag).
        for (const auto& x : v.arr_nested) write_value(o, x);
        return;
    }
    for (size_t k = 0; k < v.array_size(); ++k) write_scalar(o, v.elem, v, k);
}

}  // namespace

void gguf_writer::set(const std::string& key, gguf_value value) {
    for (auto& [k, v] : kv)
        if (k == key) { v = std::move(value); return; }
    kv.emplace_back(key, std::move(value));
}

void gguf_writer::add_tensor(const std::string& name, dtype type, std::vector<int64_t> ne, tensor_source source) {
    for (const auto& t : tensors_)
        if (t.name == name) fail("tensor '{}' added twice", name);
    int64_t ne0 = ne.empty() ? 1 : ne[0];
    if (ne0 % traits(type).block_elems != 0)
        fail("tensor '{}' row length {} is not a multiple of the {} block size", name, ne0, traits(type).name);
    tensors_.push_back({name, type, std::move(ne), std::move(source)});
}

void gguf_writer::add_tensor_bytes(const std::string& name, dtype type, std::vector<int64_t> ne,
                                   const uint8_t* data, size_t n_bytes) {
    add_tensor(name, type, std::move(ne), [data, n_bytes](std::vector<uint8_t>& out) { out.assign(data, data + n_bytes); });
}

void gguf_writer::write(const std::string& path,
                        const std::function<void(size_t, size_t, const std::string&)>& progress) const {
    std::string tmp = path + ".tmp";
    {
        file_out o(tmp);
        o.bytes("GGUF", 4);
        o.pod<uint32_t>(3);
        o.pod<uint64_t>(tensors_.size());
        // A non-default alignment must be recorded in the file or readers would misplace the data.
        auto kv_out = kv;
        bool has_alignment = false;
        for (auto& [k, v] : kv_out)
            if (k == "general.alignment") { v = gguf_value::make_u32(static_cast<uint32_t>(alignment)); has_alignment = true; }
        if (!has_alignment && alignment != 32) kv_out.emplace_back("general.alignment", gguf_value::make_u32(static_cast<uint32_t>(alignment)));
        o.pod<uint64_t>(kv_out.size());
        for (const auto& [k, v] : kv_out) {
            o.str(k);
            o.pod<uint32_t>(static_cast<uint32_t>(v.type));
            write_value(o, v);
        }
        std::vector<uint64_t> sizes;
        uint64_t offset = 0;
        for (const auto& t : tensors_) {
            o.str(t.name);
            o.pod<uint32_t>(static_cast<uint32_t>(t.ne.size()));
            int64_t n = 1;
            for (int64_t d : t.ne) { o.pod<uint64_t>(static_cast<uint64_t>(d)); n *= d; }
            o.pod<uint32_t>(static_cast<uint32_t>(t.type));
            o.pod<uint64_t>(offset);
            uint64_t size = row_bytes(t.type, t.ne.empty() ? 1 : t.ne[0]) * static_cast<uint64_t>(t.ne.empty() ? 1 : n / t.ne[0]);
            sizes.push_back(size);
            offset += (size + alignment - 1) / alignment * alignment;
        }
        o.pad_to(alignment);
        std::vector<uint8_t> buf;
        for (size_t k = 0; k < tensors_.size(); ++k) {
            const auto& t = tensors_[k];
            if (progress) progress(k, tensors_.size(), t.name);
            buf.clear();
            t.source(buf);
            if (buf.size() != sizes[k])
                fail("tensor '{}' produced {} bytes, expected {}", t.name, buf.size(), sizes[k]);
            o.bytes(buf.data(), buf.size());
            o.pad_to(alignment);
        }
        o.close();
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) fail("cannot rename '{}' to '{}': {}", tmp, path, std::strerror(errno));
}

gguf_writer writer_from(const gguf_file& f) {
    gguf_writer w;
    w.alignment = f.alignment;
    w.kv = f.kv;
    for (const auto& t : f.tensors) w.add_tensor_bytes(t.name, t.type, t.ne, t.data, t.n_bytes);
    return w;
}

}  // namespace lf
