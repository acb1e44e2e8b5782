// A workload runner for any OpenAI-compatible server (`leapfrog bench --url`): leapfrog serve,
// llama.cpp's llama-server, vLLM. For each concurrency C it sends R streaming completions of a
// P-token prompt and G generated tokens (end-of-sequence ignored where the server honours
// `ignore_eos`), C in flight at a time, and measures on the client: time to first token, prefill
// and per-stream decode speed, aggregate throughput over the MEASURED wall time of the run, and
// the acceptance of speculative drafts (from each response's llama.cpp-style `timings`, else from
// the server's Prometheus counters read before and after the run).
//
// Prompts are distinct per request from their first word, so no server can reuse a cached prefix.
// They are sized with the server's /tokenize when it has one, else at about four characters per
// token.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lf {

struct http_bench_options {
    std::string url;                      // http://host:port
    std::string model;                    // "" = first id of GET /v1/models
    std::string api_key;
    std::vector<int> concurrency = {1};
    int prompt_tokens = 128;
    int max_tokens = 128;
    int requests = 0;                     // per run; 0 = the run's concurrency
    bool ignore_eos = true;
    bool chat = false;                    // /v1/chat/completions instead of /v1/completions
    std::string label;                    // column label prefix
    double timeout_s = 1800;
    uint64_t seed = 1;
    int warmup = 1;                       // short requests before the runs
};

struct request_record {
    int index = 0;
    bool ok = false;
    std::string error;
    double ttft_ms = 0;                   // send → first generated text
    double total_ms = 0;                  // send → end of stream
    int prompt_tokens = 0;
    int completion_tokens = 0;
    double prefill_tok_s = 0;             // prompt_tokens / TTFT
    double decode_tok_s = 0;              // (completion_tokens - 1) / (end - first token)
    std::optional<int> draft_n, draft_n_accepted;
    nlohmann::json timings;               // as the server sent them (null when absent)
    std::string finish_reason;
};

struct run_record {
    std::string label;
    int concurrency = 1;
    int requests = 0;
    int errors = 0;
    double wall_s = 0;                    // first send → last end of stream
    int64_t total_prompt_tokens = 0;
    int64_t total_completion_tokens = 0;
    double aggregate_tok_s = 0;           // total_completion_tokens / wall_s
    double single_stream_decode_tok_s = 0;// mean over requests of decode_tok_s
    double mean_ttft_ms = 0, median_ttft_ms = 0;
    double mean_prefill_tok_s = 0;
    std::optional<double> acceptance;     // accepted / drafted
    int64_t draft_n = 0, draft_n_accepted = 0;
    std::string acceptance_source;        // "timings", "metrics" or "" (none reported)
    // 1-minute load average of this machine before and after the run (-1 where unknown): on a
    // shared machine it says how far the figures can be trusted.
    double load_before = -1, load_after = -1;
    std::vector<request_record> detail;
};

nlohmann::json to_json(const request_record& r);
nlohmann::json to_json(const run_record& r);
run_record run_from_json(const nlohmann::json& j);  // throws lf::error naming a missing field

// Incremental Server-Sent Events parser: feed() bytes as they arrive; each complete event's data
// (the "data:" lines joined by '\n') is passed to the callback.
class sse_parser {
public:
    void feed(std::string_view bytes, const std::function<void(const std::string& data)>& on_event);

private:
    std::string buf_;
};

// Prometheus text exposition → metric name (without labels) → sum of its samples.
std::map<std::string, double> parse_prometheus(std::string_view text);
// The spec-decode counters of any server prefix (leapfrog:, llamacpp:, vllm:), when present.
struct spec_counters {
    double draft_tokens = 0, accepted_tokens = 0;
};
std::optional<spec_counters> find_spec_counters(const std::map<std::string, double>& metrics);

// The 1-minute load average (/proc/loadavg), or -1 where the system has none.
double load_average_1m();

// Deterministic filler text: `n_words` words chosen by `seed` (different seeds differ from the
// first word).
std::string filler_text(uint64_t seed, int n_words);

// The runs of one invocation. `log` (may be null) gets progress lines. Throws lf::error when the
// server cannot be reached at all.
std::vector<run_record> run_http_bench(const http_bench_options& opt, void (*log)(const std::string&) = nullptr);

// The seed's table: rows aggregate tok/s, single-stream decode tok/s, acceptance, wall time
// (then TTFT and prefill); one column per run.
std::string format_runs_table(const std::vector<run_record>& runs);

}  // namespace lf
