// Prometheus text exposition of the server and engine counters (see metrics.h).
#include "server/metrics.h"

#include <fmt/format.h>

namespace lf::server {

void server_metrics::count_request(const std::string& route, int status) {
    std::lock_guard<std::mutex> lock(m_);
    s_.requests[{route, status}]++;
}

void server_metrics::count_finish(const std::string& reason) {
    std::lock_guard<std::mutex> lock(m_);
    s_.finished[reason]++;
}

void server_metrics::count_rejected(const std::string& reason) {
    std::lock_guard<std::mutex> lock(m_);
    s_.rejected[reason]++;
}

server_metrics::snapshot server_metrics::get() const {
    std::lock_guard<std::mutex> lock(m_);
    return s_;
}

namespace {

// Label values are route paths and fixed reason words, but escape anyway: the format breaks on
// a stray quote or newline.
std::string escape_label(const std::string& v) {
    std::string out;
    for (char c : v) {
        if (c == '\\' || c == '"') out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

struct writer {
    std::string out;
    void family(const char* name, const char* type, const char* help) {
        out += fmt::format("# HELP leapfrog:{} {}\n# TYPE leapfrog:{} {}\n", name, help, name, type);
    }
    template <typename T>
    void sample(const char* name, T value, const std::string& labels = "") {
        out += fmt::format("leapfrog:{}{} {}\n", name, labels.empty() ? std::string() : "{" + labels + "}", value);
    }
    template <typename T>
    void metric(const char* name, const char* type, const char* help, T value) {
        family(name, type, help);
        sample(name, value);
    }
};

}  // namespace

std::string render_prometheus(const server_metrics::snapshot& http, const engine_gauges& g) {
    writer w;
    const engine_counters& c = g.counters;
    const double kv_ratio = g.kv_total_positions ? static_cast<double>(g.kv_used_positions) / g.kv_total_positions : 0.0;

    // vLLM names.
    w.metric("num_requests_running", "gauge", "Requests holding a slot.", g.n_running);
    w.metric("num_requests_waiting", "gauge", "Requests waiting for a slot.", g.n_waiting);
    w.metric("prompt_tokens_total", "counter", "Prompt tokens processed.", c.prompt_tokens);
    w.metric("generation_tokens_total", "counter", "Tokens generated.", c.generated_tokens);
    w.metric("kv_cache_usage_perc", "gauge", "Fraction of KV cache positions in use (0..1).", kv_ratio);
    w.metric("spec_decode_num_drafts_total", "counter", "Verify rounds that carried drafts.", c.spec_num_drafts);
    w.metric("spec_decode_num_draft_tokens_total", "counter", "Draft tokens proposed.", c.spec_num_draft_tokens);
    w.metric("spec_decode_num_accepted_tokens_total", "counter", "Draft tokens accepted.", c.spec_num_accepted_tokens);
    w.family("spec_decode_num_accepted_tokens_per_pos_total", "counter", "Draft tokens accepted at each draft position.");
    for (size_t i = 0; i < c.spec_accepted_per_pos.size(); ++i)
        w.sample("spec_decode_num_accepted_tokens_per_pos_total", c.spec_accepted_per_pos[i],
                 fmt::format("position=\"{}\"", i));

    // llama.cpp names.
    w.metric("requests_processing", "gauge", "Requests holding a slot.", g.n_running);
    w.metric("requests_deferred", "gauge", "Requests waiting for a slot.", g.n_waiting);
    w.metric("tokens_predicted_total", "counter", "Tokens generated.", c.generated_tokens);
    w.metric("kv_cache_tokens", "gauge", "KV cache positions in use.", g.kv_used_positions);
    w.metric("kv_cache_usage_ratio", "gauge", "Fraction of KV cache positions in use (0..1).", kv_ratio);

    // Own names.
    w.metric("slots_total", "gauge", "Configured slots.", g.n_slots);
    w.metric("kv_cache_positions_total", "gauge", "KV cache positions, all slots together.", g.kv_total_positions);
    w.metric("requests_finished_total", "counter", "Generations that ended, all reasons.", c.requests_done);
    w.family("request_finish_total", "counter", "Generations answered, by finish reason.");
    for (const auto& [reason, n] : http.finished)
        w.sample("request_finish_total", n, fmt::format("reason=\"{}\"", escape_label(reason)));
    w.family("requests_rejected_total", "counter", "Requests refused before generation, by reason.");
    for (const auto& [reason, n] : http.rejected)
        w.sample("requests_rejected_total", n, fmt::format("reason=\"{}\"", escape_label(reason)));
    w.family("http_requests_total", "counter", "HTTP requests answered, by route and status.");
    for (const auto& [key, n] : http.requests)
        w.sample("http_requests_total", n,
                 fmt::format("route=\"{}\",status=\"{}\"", escape_label(key.first), key.second));
    return w.out;
}

}  // namespace lf::server
