// What every route handler shares: the loaded models and tokenizer, the engine and its thread,
// the validation limits, the metrics, and the server's state (draining, requests in flight).
// Built once before the server listens; immutable afterwards except for the atomics, the
// metrics and the engine (whose own API is thread-safe where handlers use it).
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "model/gemma4-assistant.h"
#include "model/gemma4.h"
#include "server/engine-loop.h"
#include "server/metrics.h"
#include "server/request-parse.h"
#include "tokenizer/tokenizer.h"

namespace lf::server {

struct server_config {
    std::string model_path;
    std::string head_path;            // "" = no MTP head
    file_load load = file_load::map;  // map the model files, or read them into huge-page memory
    std::string host = "127.0.0.1";
    int port = 8080;                  // 0 = any free port (printed at start)
    int n_slots = 1;
    int n_ctx = 4096;                 // total KV positions, split evenly between slots
    int n_batch = 512;
    int max_queue = 64;               // requests waiting for a slot; more get 503
    int n_threads = 0;                // 0 = all CPUs
    spec_params spec;                 // defaults for requests
    std::string api_key;              // "" = no authentication
    std::vector<std::string> aliases; // model names clients may use; the first is reported
    int timeout_s = 600;              // HTTP read/write timeout
    size_t max_body_bytes = 8u << 20;
    int http_threads = 0;             // 0 = slots + queue + a few for monitoring
};

class server_context {
public:
    // Loads the models and tokenizer, builds the engine and starts its thread. Throws lf::error.
    explicit server_context(server_config cfg);
    ~server_context();

    const server_config& config() const { return cfg_; }
    engine& eng() { return *engine_; }
    engine_loop& loop() { return *loop_; }
    const tokenizer* tok() const { return tok_.get(); }
    const request_limits& limits() const { return limits_; }
    server_metrics& metrics() { return metrics_; }
    const std::string& model_id() const { return model_id_; }
    int64_t created() const { return created_; }
    const std::vector<int32_t>& eog() const { return eog_; }
    const gemma4_model& target() const { return *target_; }
    bool has_head() const { return head_ != nullptr; }

    // A model name a request may ask for: an alias, the model file's name with or without
    // extension, or its path.
    bool model_known(const std::string& name) const;

    std::atomic<bool> draining{false};
    std::atomic<int> in_flight{0};  // generation requests not yet answered

    // Engine request ids of the requests in flight, so a forced shutdown can cancel them.
    void add_active(uint64_t id);
    void remove_active(uint64_t id);
    void cancel_all();

private:
    server_config cfg_;
    std::unique_ptr<gemma4_model> target_;
    std::unique_ptr<gemma4_assistant> head_;
    std::unique_ptr<tokenizer> tok_;
    std::unique_ptr<engine> engine_;
    std::unique_ptr<engine_loop> loop_;
    server_metrics metrics_;
    request_limits limits_;
    std::string model_id_;
    std::vector<std::string> known_names_;
    std::vector<int32_t> eog_;
    int64_t created_ = 0;
    std::mutex active_m_;
    std::set<uint64_t> active_;  // guarded by active_m_
};

}  // namespace lf::server
