// Small helpers shared by the subcommands: token list parsing and CLI11 error handling.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/mmap-file.h"
#include "model/packed-weights.h"

namespace lf::tools {

// "2,17,300" -> {2, 17, 300}; throws lf::error on anything else.
inline std::vector<int32_t> parse_token_list(const std::string& s) {
    std::vector<int32_t> out;
    size_t i = 0;
    while (i < s.size()) {
        size_t j = s.find(',', i);
        if (j == std::string::npos) j = s.size();
        std::string item = s.substr(i, j - i);
        while (!item.empty() && item.front() == ' ') item.erase(item.begin());
        while (!item.empty() && item.back() == ' ') item.pop_back();
        if (item.empty()) fail("empty entry in token list '{}'", s);
        size_t used = 0;
        long long v = 0;
        try {
            v = std::stoll(item, &used);
        } catch (...) {
            fail("'{}' in the token list is not an integer", item);
        }
        if (used != item.size() || v < 0 || v > INT32_MAX) fail("'{}' in the token list is not a valid token id", item);
        out.push_back(static_cast<int32_t>(v));
        i = j + 1;
    }
    if (out.empty()) fail("the token list is empty");
    return out;
}

// llama.cpp spells some long options with one dash ("-md", "-np"); CLI11 allows one dash only
// before a single letter, so these are rewritten to their long forms before parsing.
inline std::vector<std::string> normalize_args(int argc, char** argv) {
    static const std::pair<const char*, const char*> k_aliases[] = {
        {"-md", "--model-draft"}, {"-np", "--parallel"}, {"-ngl", "--n-gpu-layers"}, {"-ngld", "--n-gpu-layers-draft"},
        {"-ub", "--ubatch"}, {"-fa", "--flash-attn"}};
    std::vector<std::string> args;
    for (int i = argc - 1; i >= 1; --i) {  // CLI11 takes the arguments in reverse order
        std::string a = argv[i];
        for (auto [from, to] : k_aliases)
            if (a == from) a = to;
        args.push_back(a);
    }
    return args;
}

// How the weights sit in memory. --no-mmap (llama.cpp's name): read the model files into
// huge-page memory instead of mapping them (core/mmap-file.h). --no-repack (llama.cpp's name):
// keep q4_0 matrices in the file's layout instead of packing them for the AVX2 kernels at load
// (model/packed-weights.h).
inline void add_weight_memory_flags(CLI::App& app, file_load& how) {
    app.add_flag_callback(
        "--no-mmap", [&how] { how = file_load::copy; },
        "read the model files into memory (2 MiB pages where the kernel allows) instead of mapping them: "
        "slower to start, faster decode where file pages map 4 KiB at a time");
    app.add_flag_callback(
        "--no-repack", [] { set_weight_packing(false); },
        "keep q4_0 weights as the file has them instead of packing them for the AVX2 kernels at load "
        "(packing: same results, faster products; also LEAPFROG_REPACK=0)");
}

// Parses argv with CLI11; returns -1 to continue, otherwise the exit code (help printed or error).
inline int parse_cli(CLI::App& app, int argc, char** argv) {
    try {
        std::vector<std::string> args = normalize_args(argc, argv);
        app.parse(args);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "%s: error: %s\n", app.get_name().c_str(), e.what());
        return 2;
    }
    return -1;
}

}  // namespace lf::tools
