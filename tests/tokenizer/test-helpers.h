// Helpers shared by the tokenizer tests: reading test data (including .gz through gzip -dc) and
// loading the Hugging Face tokenizers kept under tests/data.
#pragma once
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "tokenizer/vocab-hf.h"

namespace lf::test {

inline std::string data_path(const std::string& rel) { return std::string(LF_TEST_DATA) + "/" + rel; }

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline std::string read_gz(const std::string& path) {
    std::string cmd = "gzip -dc '" + path + "'";
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) throw std::runtime_error("cannot run " + cmd);
    std::string out;
    char buf[1 << 16];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    if (pclose(p) != 0) throw std::runtime_error(cmd + " failed");
    return out;
}

inline nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_file(path)); }

// The real Gemma 3 tokenizer (tests/data/tokenizer-gemma3, tokenizer.json stored gzipped).
inline hf_tokenizer_files gemma3_files() {
    hf_tokenizer_files f;
    f.tokenizer = nlohmann::json::parse(read_gz(data_path("tokenizer-gemma3/tokenizer.json.gz")));
    f.tokenizer_config = read_json(data_path("tokenizer-gemma3/tokenizer_config.json"));
    return f;
}

// The tiny Gemma 4 tokenizer (tests/data/tokenizer-tiny).
inline hf_tokenizer_files tiny_files() { return read_hf_tokenizer_files(data_path("tokenizer-tiny")); }

}  // namespace lf::test
