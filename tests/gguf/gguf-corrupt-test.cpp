// The reader treats files as untrusted: each corruption below must give an lf::error whose
// message names the problem, and thousands of random mutations must each give an error or a
// valid load — never a crash, hang or huge allocation (ASan/valgrind runs catch the latter).
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "gguf-test-util.h"
#include "core/error.h"
#include "gguf/gguf.h"

using namespace lf;

namespace {

std::vector<uint8_t> sample_bytes() {
    static std::vector<uint8_t> bytes = [] {
        const test::temp_file file("corrupt-src.gguf");
        test::sample_writer().write(file.path);
        return test::read_bytes(file.path);
    }();
    return bytes;
}

std::string load_error(const std::vector<uint8_t>& bytes) {
    try {
        gguf_file::from_memory(bytes.data(), bytes.size());
    } catch (const lf::error& e) {
        return e.what();
    }
    return "";
}

// Offset of the first occurrence of a byte string (e.g. a key name) in the file.
size_t find(const std::vector<uint8_t>& b, const std::string& s) {
    auto it = std::search(b.begin(), b.end(), s.begin(), s.end());
    EXPECT_NE(it, b.end()) << s;
    return static_cast<size_t>(it - b.begin());
}

template <typename T>
void poke(std::vector<uint8_t>& b, size_t at, T v) { std::memcpy(b.data() + at, &v, sizeof v); }

}  // namespace

TEST(gguf_corrupt, bad_magic) {
    auto b = sample_bytes();
    b[0] = 'X';
    EXPECT_NE(load_error(b).find("bad magic"), std::string::npos);
}

TEST(gguf_corrupt, bad_version) {
    auto b = sample_bytes();
    poke<uint32_t>(b, 4, 99);
    EXPECT_NE(load_error(b).find("version 99"), std::string::npos);
}

TEST(gguf_corrupt, absurd_counts) {
    auto b = sample_bytes();
    poke<uint64_t>(b, 8, uint64_t(1) << 60);
    EXPECT_NE(load_error(b).find("tensor count"), std::string::npos);
    b = sample_bytes();
    poke<uint64_t>(b, 16, uint64_t(1) << 60);
    EXPECT_NE(load_error(b).find("metadata count"), std::string::npos);
}

TEST(gguf_corrupt, absurd_string_length_names_the_key) {
    auto b = sample_bytes();
    size_t key = find(b, "general.architecture");
    // After the key: u32 type, then the u64 length of the string value.
    poke<uint64_t>(b, key + std::strlen("general.architecture") + 4, uint64_t(1) << 50);
    std::string e = load_error(b);
    EXPECT_NE(e.find("general.architecture"), std::string::npos) << e;
}

TEST(gguf_corrupt, absurd_array_length_names_the_key) {
    auto b = sample_bytes();
    size_t key = find(b, "tokenizer.ggml.scores");
    poke<uint64_t>(b, key + std::strlen("tokenizer.ggml.scores") + 8, uint64_t(1) << 40);
    std::string e = load_error(b);
    EXPECT_NE(e.find("tokenizer.ggml.scores"), std::string::npos) << e;
}

TEST(gguf_corrupt, unknown_value_type) {
    auto b = sample_bytes();
    size_t key = find(b, "gemma4.block_count");
    poke<uint32_t>(b, key + std::strlen("gemma4.block_count"), 77);
    std::string e = load_error(b);
    EXPECT_NE(e.find("unknown metadata value type 77"), std::string::npos) << e;
}

TEST(gguf_corrupt, unknown_tensor_type_names_the_tensor) {
    auto b = sample_bytes();
    size_t name = find(b, "b.weight");
    // name, u32 n_dims=2, 2 x u64 dims, then u32 type
    poke<uint32_t>(b, name + 8 + 4 + 16, 1234);
    std::string e = load_error(b);
    EXPECT_NE(e.find("b.weight"), std::string::npos) << e;
    EXPECT_NE(e.find("1234"), std::string::npos) << e;
}

TEST(gguf_corrupt, dimension_overflow) {
    auto b = sample_bytes();
    size_t name = find(b, "a.weight");
    poke<uint64_t>(b, name + 8 + 4, uint64_t(1) << 62);
    poke<uint64_t>(b, name + 8 + 4 + 8, uint64_t(1) << 62);
    std::string e = load_error(b);
    EXPECT_NE(e.find("a.weight"), std::string::npos) << e;
    EXPECT_NE(e.find("overflow"), std::string::npos) << e;
}

TEST(gguf_corrupt, too_many_dimensions) {
    auto b = sample_bytes();
    size_t name = find(b, "a.weight");
    poke<uint32_t>(b, name + 8, 9);
    EXPECT_NE(load_error(b).find("9 dimensions"), std::string::npos);
}

TEST(gguf_corrupt, data_outside_file) {
    auto b = sample_bytes();
    size_t name = find(b, "c.weight");
    // name, u32 n_dims=1, u64 dim, u32 type, u64 offset
    poke<uint64_t>(b, name + 8 + 4 + 8 + 4, uint64_t(1) << 20);
    std::string e = load_error(b);
    EXPECT_NE(e.find("c.weight"), std::string::npos) << e;
    EXPECT_NE(e.find("outside"), std::string::npos) << e;
}

TEST(gguf_corrupt, overlapping_tensors) {
    auto b = sample_bytes();
    size_t name = find(b, "b.weight");
    poke<uint64_t>(b, name + 8 + 4 + 16 + 4, 0);  // b now starts where a starts
    std::string e = load_error(b);
    EXPECT_NE(e.find("overlap"), std::string::npos) << e;
}

TEST(gguf_corrupt, misaligned_offset) {
    auto b = sample_bytes();
    size_t name = find(b, "b.weight");
    poke<uint64_t>(b, name + 8 + 4 + 16 + 4, 3);
    EXPECT_NE(load_error(b).find("not aligned"), std::string::npos);
}

TEST(gguf_corrupt, every_truncation_is_an_error) {
    auto full = sample_bytes();
    // Only the trailing padding after the last tensor's bytes may be cut without loss.
    gguf_file f = gguf_file::from_memory(full.data(), full.size());
    size_t data_end = 0;
    for (const auto& t : f.tensors) data_end = std::max<size_t>(data_end, f.data_offset() + t.offset + t.n_bytes);
    ASSERT_GT(data_end, full.size() - 32);
    for (size_t n = 0; n < data_end; ++n) {
        std::vector<uint8_t> b(full.begin(), full.begin() + static_cast<long>(n));
        EXPECT_NE(load_error(b), "") << "truncated to " << n << " bytes loaded without error";
    }
}

TEST(gguf_corrupt, random_mutations_error_or_load) {
    auto full = sample_bytes();
    std::mt19937_64 rng(1234);
    int n_errors = 0, n_loads = 0;
    for (int iter = 0; iter < 5000; ++iter) {
        auto b = full;
        int kind = static_cast<int>(rng() % 4);
        if (kind == 0) {  // flip random bytes
            int n = 1 + static_cast<int>(rng() % 8);
            for (int k = 0; k < n; ++k) b[rng() % b.size()] ^= static_cast<uint8_t>(1 + rng() % 255);
        } else if (kind == 1) {  // patch a random aligned u64 with a random or extreme count
            size_t at = (rng() % (b.size() / 8)) * 8;
            uint64_t v = rng() % 2 ? rng() : (uint64_t(1) << (rng() % 64));
            if (at + 8 <= b.size()) poke<uint64_t>(b, at, v);
        } else if (kind == 2) {  // truncate
            b.resize(rng() % b.size());
        } else {  // patch a u32 anywhere (types, dimension counts)
            size_t at = rng() % (b.size() - 4);
            poke<uint32_t>(b, at, static_cast<uint32_t>(rng() % 40));
        }
        std::string e = load_error(b);
        (e.empty() ? n_loads : n_errors)++;
    }
    EXPECT_GT(n_errors, 1000);
    EXPECT_EQ(n_errors + n_loads, 5000);
}
