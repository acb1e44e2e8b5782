// Builds small valid GGUF files in memory for reader tests.
#pragma once
#include <cstdio>
#include <cstring>
#include <unistd.h>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "gguf/gguf-writer.h"

namespace lf::test {

// A file with every scalar type, arrays (including strings and a nested array) and three tensors.
inline gguf_writer sample_writer() {
    gguf_writer w;
    w.set_str("general.architecture", "gemma4");
    w.set_u32("gemma4.block_count", 6);
    w.set_f32("gemma4.rope.freq_base", 1e6f);
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    w.set("t.i32", gguf_value::make_i32(-7));
    w.set("t.u64", gguf_value::make_u64(1ull << 40));
    gguf_value u8; u8.type = gguf_type::u8; u8.u = 200; w.set("t.u8", u8);
    gguf_value i16; i16.type = gguf_type::i16; i16.i = -300; w.set("t.i16", i16);
    gguf_value f64; f64.type = gguf_type::f64; f64.f = 3.25; w.set("t.f64", f64);
    w.set("tokenizer.ggml.tokens", gguf_value::make_arr_str({"<pad>", "<eos>", "▁hello", ""}));
    w.set("tokenizer.ggml.scores", gguf_value::make_arr_f32({-1000.f, 0.5f, -2.f, 0.f}));
    w.set("gemma4.attention.head_count_kv", gguf_value::make_arr_i32({2, 2, 1}));
    w.set("gemma4.attention.sliding_window_pattern", gguf_value::make_arr_bool({true, true, false}));
    gguf_value nested; nested.type = gguf_type::arr; nested.elem = gguf_type::arr;
    nested.arr_nested = {gguf_value::make_arr_u32({1, 2}), gguf_value::make_arr_u32({3})};
    w.set("t.nested", nested);
    std::vector<float> a(64), b(32 * 3);
    for (size_t i = 0; i < a.size(); ++i) a[i] = 0.25f * static_cast<float>(i) - 3.f;
    for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>((i * 37) % 11) - 5.f;
    w.add_tensor("a.weight", dtype::f32, {16, 4}, [a](std::vector<uint8_t>& out) {
        out.resize(a.size() * 4);
        std::memcpy(out.data(), a.data(), out.size());
    });
    w.add_tensor("b.weight", dtype::q8_0, {32, 3}, [b](std::vector<uint8_t>& out) {
        // Block contents do not matter to the reader: scale bytes then 32 int8 values per row.
        out.resize(row_bytes(dtype::q8_0, 32) * 3);
        for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(b[i % b.size()] + 5);
    });
    w.add_tensor("c.weight", dtype::f16, {8}, [](std::vector<uint8_t>& out) {
        out.resize(16);
        for (int i = 0; i < 16; ++i) out[i] = static_cast<uint8_t>(i * 3);
    });
    return w;
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// Unique per process: CTest runs each test case as its own process, several at once.
inline std::string temp_path(const std::string& name) {
    return std::string(::testing::TempDir()) + "/lf-" + std::to_string(::getpid()) + "-" + name;
}

// A temp_path that is removed when it goes out of scope, so test runs leave no files behind
// (a file still mapped stays readable until it is unmapped).
struct temp_file {
    std::string path;
    explicit temp_file(const std::string& name) : path(temp_path(name)) {}
    ~temp_file() { std::remove(path.c_str()); }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
};

}  // namespace lf::test
