// Prometheus metrics. The engine counts tokens and speculation (engine_counters); the server
// counts HTTP requests and their outcomes here. render_prometheus() writes both in the text
// exposition format.
//
// Names: everything is prefixed "leapfrog:". Speculative counters carry vLLM's names
// (spec_decode_num_drafts, _num_draft_tokens, _num_accepted_tokens, _num_accepted_tokens_per_pos
// with a "position" label), as counters with the "_total" suffix exactly as vLLM's Prometheus
// exporter writes them, so dashboards built for vLLM only need the prefix changed. Request and
// token gauges/counters exist under both vLLM's and llama.cpp's names where those differ.
#pragma once
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "engine/engine.h"

namespace lf::server {

class server_metrics {
public:
    // One HTTP request answered on `route` with `status`.
    void count_request(const std::string& route, int status);
    // One generation finished with this reason ("stop", "length", "tool_calls", "cancelled").
    void count_finish(const std::string& reason);
    // A request refused before reaching the engine (reason: "queue_full", "draining", ...).
    void count_rejected(const std::string& reason);

    struct snapshot {
        std::map<std::pair<std::string, int>, uint64_t> requests;
        std::map<std::string, uint64_t> finished;
        std::map<std::string, uint64_t> rejected;
    };
    snapshot get() const;

private:
    mutable std::mutex m_;
    snapshot s_;
};

// Engine state sampled at scrape time.
struct engine_gauges {
    int n_running = 0;
    int n_waiting = 0;
    int n_slots = 0;
    int kv_used_positions = 0;
    int kv_total_positions = 0;
    engine_counters counters;
};

std::string render_prometheus(const server_metrics::snapshot& http, const engine_gauges& g);

}  // namespace lf::server
