// The engine: slots, batch building and the draft → verify → accept loop (spec §5), for any
// number of concurrent requests. One thread calls step(); other threads submit and cancel.
//
// Each step:
//   1. waiting requests take free slots;
//   2. every generating slot with speculation on drafts up to draft_max tokens with the MTP
//      head — one drafter pass per draft step, one row per still-drafting slot;
//   3. one target batch holds [last, d_1..d_k] of every generating slot and prompt chunks of
//      prefilling slots (bounded by n_batch);
//   4. each generating slot verifies its drafts, keeps the accepted prefix plus the target's own
//      token, rolls the rejected positions out of the KV cache and keeps the target's final-norm
//      hidden state of the last accepted row to seed its next draft.
// Greedy output is identical with or without the head and for any slot count, because every
// row's logits are computed independently of the other rows in its batch.
#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/thread-pool.h"
#include "kv/kv-cache.h"
#include "model/gemma4-assistant.h"
#include "model/gemma4.h"
#include "sampling/sampler.h"
#include "sampling/speculative.h"

namespace lf {

struct spec_params {
    bool enabled = true;
    int draft_max = 3;
    int draft_min = 0;
    float draft_p_min = 0.0f;
};

struct gen_stats {
    int n_prompt = 0;
    int n_gen = 0;
    int n_drafted = 0;
    int n_accepted = 0;
    int n_rounds = 0;                    // verify rounds that carried at least one draft
    std::vector<int> drafted_per_pos;    // [draft_max]: drafts made at depth i
    std::vector<int> accepted_per_pos;   // [draft_max]: drafts accepted at depth i
    double t_prompt_ms = 0;
    double t_gen_ms = 0;
};

struct gen_result {
    std::vector<int32_t> tokens;
    gen_stats stats;
    std::string finish_reason;  // "stop", "length", "cancelled"
};

struct gen_request {
    std::vector<int32_t> prompt;
    int max_tokens = 128;
    sampling_params sampling;
    spec_params spec;
    std::vector<int32_t> eog;   // tokens that end generation (not emitted)
    bool ignore_eos = false;
    // Engine thread: newly emitted tokens, in order. Return false to stop the request.
    std::function<bool(const std::vector<int32_t>&)> on_tokens;
    // Engine thread: called exactly once when the request ends.
    std::function<void(const gen_result&)> on_done;
    // Testing hook: when set, replaces the head's drafts for a slot (forced drafts).
    std::function<std::vector<int32_t>(const std::vector<int32_t>& generated)> force_drafts;
};

struct engine_params {
    int n_slots = 1;
    int n_ctx = 4096;        // total KV positions, split evenly between slots
    int n_batch = 512;       // rows per target batch (prompt chunks are cut to fit)
    int max_queue = 64;      // waiting requests beyond the slots; more are refused
    int n_threads = 0;       // 0 = all CPUs
};

struct slot_snapshot {
    int id = 0;
    bool busy = false;
    uint64_t request_id = 0;
    std::string state;  // "idle", "prefill", "generate"
    int n_prompt = 0, n_past = 0, n_gen = 0;
};

struct engine_counters {
    uint64_t requests_done = 0;
    uint64_t prompt_tokens = 0;
    uint64_t generated_tokens = 0;
    uint64_t spec_num_drafts = 0;        // rounds that carried drafts
    uint64_t spec_num_draft_tokens = 0;
    uint64_t spec_num_accepted_tokens = 0;
    std::vector<uint64_t> spec_accepted_per_pos;
};

class engine {
public:
    engine(gemma4_model& target, gemma4_assistant* head, engine_params params);
    ~engine();

    // Thread-safe. Queues a request; throws lf::error when the prompt cannot fit a slot's context
    // or the queue is full (queue_full() tells which).
    uint64_t submit(gen_request r);
    // Thread-safe. Stops a queued or running request; its on_done reports "cancelled".
    void cancel(uint64_t id);

    // Engine thread: runs one iteration; returns false when there was nothing to do.
    bool step();
    // Runs steps until no request is queued or running.
    void run_until_idle();

    bool queue_full() const;
    int n_waiting() const;
    int n_running() const;
    std::vector<slot_snapshot> slots() const;
    engine_counters counters() const;
    size_t kv_bytes() const { return kv_.bytes(); }
    int kv_used_positions() const;
    int n_ctx_slot() const { return kv_.n_ctx_slot(); }
    const engine_params& params() const { return params_; }
    bool has_head() const { return head_ != nullptr; }
    thread_pool& pool() { return pool_; }
    kv_cache& kv() { return kv_; }  // tests compare caches

private:
    struct slot;
    void admit();
    void draft_round();
    void finish(slot& s, const std::string& reason);
    bool emit(slot& s, const std::vector<int32_t>& tokens);
    void publish_state();  // engine thread: refreshes what slots() and kv_used_positions() report

    gemma4_model& target_;
    gemma4_assistant* head_;
    engine_params params_;
    thread_pool pool_;
    kv_cache kv_;
    std::vector<std::unique_ptr<slot>> slots_;
    uint64_t next_id_ = 1;
    mutable std::mutex mutex_;  // guards queue_, cancelled_, counters_ and slot snapshots
    std::deque<std::pair<uint64_t, gen_request>> queue_;
    std::vector<uint64_t> cancelled_;
    engine_counters counters_;
    std::atomic<int> kv_used_{0};  // KV positions held by busy slots, as of the last step
    std::vector<slot_snapshot> published_slots_;  // guarded by mutex_
    forward_output fwd_;
    draft_output draft_out_;
};

}  // namespace lf
