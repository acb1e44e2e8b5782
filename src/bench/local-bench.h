// In-process micro-benchmark of one model file (`leapfrog bench --local`), in the manner of
// llama-bench: prefill and decode speed, the cost of one target forward of 1, 2, 4, 8 tokens at a
// fixed context depth (the verify cost curve speculation depends on), one draft step of an MTP
// head, and the memory-bandwidth bound of decode beside the measured figure. Every timing is the
// median of its repeats.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gguf/gguf.h"
#include "model/gemma4-hparams.h"

namespace lf {

struct local_bench_options {
    std::string model_path;
    std::string head_path;                     // empty: no draft-step measurement
    file_load load = file_load::map;           // map the model files, or read them into memory
    int n_threads = 0;                         // 0: all CPUs
    int n_prompt = 512;                        // prefill prompt length
    int n_gen = 128;                           // decoded tokens per decode run
    int depth = 512;                           // context depth of the forward / draft measurements
    std::vector<int> forward_sizes = {1, 2, 4, 8};
    int repeats = 3;                           // prefill and decode runs
    int step_repeats = 10;                     // forward-of-n and draft-step runs
    size_t bandwidth_bytes = size_t{1} << 30;  // streaming-read buffer
    uint64_t seed = 1;                         // prompt tokens
};

struct local_bench_result {
    double prefill_tok_s = 0;
    double decode_tok_s = 0;
    std::map<int, double> forward_ms;          // tokens per forward → ms
    std::map<int, double> forward_ratio;       // tokens per forward → median of per-round (ms / ms of 1 token)
    std::optional<double> draft_step_ms;
    double read_gb_s = 0;                      // GB/s: the higher of the probes before the run and after the decode
    double bytes_per_token = 0;                // weight bytes one decode step reads
    double bandwidth_bound_tok_s = 0;
    nlohmann::json info = nlohmann::json::object();  // model, machine and settings

    // {"prefill_tok_s", "decode_tok_s", "forward_ms": {"1": ..}, "draft_step_ms" (with a head),
    //  "bandwidth_bound_tok_s", "read_gb_s", "bytes_per_token", "fraction_of_bound", ...}
    nlohmann::json to_json() const;
};

// Bytes of weights one decode step of a target reads: every layer matrix and vector, the output
// head (token_embd, tied), one row of each per-token lookup table (the token's embedding row
// and per_layer_token_embd row), and of expert stacks only the experts used per token. K/V
// projections of KV-shared layers, which the forward never reads, are left out.
double decode_read_bytes(const gguf_file& f, const gemma4_hparams& hp);

// Runs the whole benchmark. `log` (may be null) receives one progress line per phase.
local_bench_result run_local_bench(const local_bench_options& opt, void (*log)(const std::string&) = nullptr);

// The human-readable table (one row per measurement, llama-bench style).
std::string format_local_bench(const local_bench_result& r);

}  // namespace lf
