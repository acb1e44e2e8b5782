#include "engine/engine.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace lf {

namespace {

using clock_type = std::chrono::steady_clock;

double ms_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// Probability of the top-1 token renormalised over the 10 best (the draft confidence that
// --draft-p-min is compared with, as llama.cpp's top-k(10) draft sampler computes it).
float top1_confidence(const float* logits, int64_t n) {
    constexpr int k = 10;
    float best[k];
    int m = 0;
    for (int64_t i = 0; i < n; ++i) {
        float v = logits[i];
        if (m < k) {
            best[m++] = v;
            std::push_heap(best, best + m, std::greater<float>());
        } else if (v > best[0]) {
            std::pop_heap(best, best + m, std::greater<float>());
            best[m - 1] = v;
            std::push_heap(best, best + m, std::greater<float>());
        }
    }
    float mx = *std::max_element(best, best + m);
    double sum = 0;
    for (int i = 0; i < m; ++i) sum += std::exp(static_cast<double>(best[i] - mx));
    return static_cast<float>(1.0 / sum);
}

}  // namespace

struct engine::slot {
    int id = 0;
    bool busy = false;
    uint64_t request_id = 0;
    gen_request req;
    bool prefilling = true;
    int n_prompt_done = 0;             // prompt tokens already in the cache
    int32_t last = 0;                  // last sampled token; not yet in the cache
    std::vector<float> pending_h;      // f32 [n_embd]: target hidden of the row that produced `last`
    std::vector<float> draft_h;        // f32 [n_embd_out]: drafter h' feeding the next draft step
    std::unique_ptr<sampler> smp;      // target sampler (full chain, penalties)
    std::unique_ptr<sampler> draft_smp;
    std::vector<int32_t> drafts;
    std::vector<token_dist> draft_q;
    bool drafting = false;
    int draft_limit = 0;
    std::vector<int32_t> generated;
    gen_stats stats;
    clock_type::time_point t_start, t_first;
    int out_index = -1;                // first output row of this slot in the current batch
    int n_rows = 0;                    // rows of this slot in the current batch
    bool cancel_requested = false;
};

engine::engine(gemma4_model& target, gemma4_assistant* head, engine_params params)
    : target_(target), head_(head), params_(params),
      pool_(params.n_threads > 0 ? params.n_threads : default_thread_count()),
      kv_(target.make_cache(std::max(1, params.n_slots), std::max(1, params.n_ctx / std::max(1, params.n_slots)),
                            std::max(params.n_batch, 1))) {
    if (params_.n_slots < 1) fail("the slot count must be at least 1");
    if (params_.n_ctx / params_.n_slots < 8) fail("context {} is too small for {} slots", params_.n_ctx, params_.n_slots);
    for (int i = 0; i < params_.n_slots; ++i) {
        slots_.push_back(std::make_unique<slot>());
        slots_.back()->id = i;
    }
    publish_state();
}

engine::~engine() = default;

uint64_t engine::submit(gen_request r) {
    if (r.prompt.empty()) fail("the prompt is empty");
    if (static_cast<int>(r.prompt.size()) >= kv_.n_ctx_slot())
        fail("the prompt has {} tokens but a slot's context holds {}", r.prompt.size(), kv_.n_ctx_slot());
    for (int32_t t : r.prompt)
        if (t < 0 || t >= target_.hparams().n_vocab) fail("token id {} is outside the vocabulary", t);
    if (r.max_tokens < 0) fail("max_tokens must not be negative");
    std::lock_guard<std::mutex> lock(mutex_);
    if (static_cast<int>(queue_.size()) >= params_.max_queue) fail("the request queue is full");
    uint64_t id = next_id_++;
    queue_.emplace_back(id, std::move(r));
    return id;
}

void engine::cancel(uint64_t id) {
    std::lock_guard<std::mutex> lock(mutex_);
    cancelled_.push_back(id);
}

bool engine::queue_full() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(queue_.size()) >= params_.max_queue;
}

int engine::n_waiting() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(queue_.size());
}

int engine::n_running() const {
    std::lock_guard<std::mutex> lock(mutex_);
    int n = 0;
    for (const auto& s : slots_) n += s->busy;
    return n;
}

int engine::kv_used_positions() const { return kv_used_.load(std::memory_order_relaxed); }

void engine::publish_state() {
    std::vector<slot_snapshot> snaps;
    int used = 0;
    for (const auto& s : slots_) {
        slot_snapshot snap;
        snap.id = s->id;
        snap.busy = s->busy;
        if (s->busy) {
            snap.request_id = s->request_id;
            snap.state = s->prefilling ? "prefill" : "generate";
            snap.n_prompt = static_cast<int>(s->req.prompt.size());
            snap.n_past = kv_.n_pos(s->id);
            snap.n_gen = s->stats.n_gen;
            used += snap.n_past;
        } else {
            snap.state = "idle";
        }
        snaps.push_back(snap);
    }
    kv_used_.store(used, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mutex_);
    published_slots_ = std::move(snaps);
}

std::vector<slot_snapshot> engine::slots() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return published_slots_;
}

engine_counters engine::counters() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return counters_;
}

void engine::admit() {
    std::lock_guard<std::mutex> lock(mutex_);
    // Cancellations first: queued requests are dropped, running ones end at this step.
    for (uint64_t id : cancelled_) {
        for (auto it = queue_.begin(); it != queue_.end(); ++it)
            if (it->first == id) {
                gen_result res;
                res.finish_reason = "cancelled";
                auto done = std::move(it->second.on_done);
                queue_.erase(it);
                if (done) done(res);
                break;
            }
        for (auto& s : slots_)
            if (s->busy && s->request_id == id) s->cancel_requested = true;
    }
    cancelled_.clear();
    for (auto& s : slots_) {
        if (s->busy || queue_.empty()) continue;
        auto [id, req] = std::move(queue_.front());
        queue_.pop_front();
        s->busy = true;
        s->request_id = id;
        s->req = std::move(req);
        s->prefilling = true;
        s->cancel_requested = false;
        s->n_prompt_done = 0;
        s->generated.clear();
        s->drafts.clear();
        s->draft_q.clear();
        s->stats = gen_stats{};
        s->stats.n_prompt = static_cast<int>(s->req.prompt.size());
        int dmax = std::max(0, s->req.spec.draft_max);
        s->stats.drafted_per_pos.assign(dmax, 0);
        s->stats.accepted_per_pos.assign(dmax, 0);
        s->smp = std::make_unique<sampler>(s->req.sampling);
        sampling_params dp = s->req.sampling;
        dp.presence_penalty = dp.frequency_penalty = 0;
        dp.logit_bias.clear();
        dp.seed = dp.seed * 0x9E3779B97F4A7C15ull + 1;  // independent stream for draft sampling
        s->draft_smp = std::make_unique<sampler>(dp);
        s->t_start = clock_type::now();
        kv_.truncate(s->id, 0);
    }
}

void engine::finish(slot& s, const std::string& reason) {
    auto now = clock_type::now();
    if (!s.prefilling) s.stats.t_gen_ms = ms_between(s.t_first, now);
    else s.stats.t_prompt_ms = ms_between(s.t_start, now);
    gen_result res;
    res.tokens = std::move(s.generated);
    res.stats = s.stats;
    res.finish_reason = reason;
    auto done = std::move(s.req.on_done);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        counters_.requests_done++;
        s.busy = false;
        s.req = gen_request{};
    }
    kv_.truncate(s.id, 0);
    publish_state();  // observers see the slot free before the request's owner hears it ended
    if (done) done(res);
}

// Appends tokens to the slot's output; returns false when the request has ended.
bool engine::emit(slot& s, const std::vector<int32_t>& tokens) {
    std::vector<int32_t> fresh;
    std::string reason;
    for (int32_t t : tokens) {
        if (s.stats.n_gen >= s.req.max_tokens) {
            reason = "length";
            break;
        }
        if (!s.req.ignore_eos && std::find(s.req.eog.begin(), s.req.eog.end(), t) != s.req.eog.end()) {
            reason = "stop";
            break;
        }
        s.generated.push_back(t);
        fresh.push_back(t);
        s.stats.n_gen++;
        if (s.stats.n_gen >= s.req.max_tokens) {
            reason = "length";
            break;
        }
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        counters_.generated_tokens += fresh.size();
    }
    if (!fresh.empty() && s.req.on_tokens && !s.req.on_tokens(fresh)) reason = "cancelled";
    // The next round needs room for `last` plus at least one more position.
    if (reason.empty() && kv_.n_pos(s.id) + 2 > kv_.n_ctx_slot()) reason = "length";
    if (!reason.empty()) {
        finish(s, reason);
        return false;
    }
    return true;
}

void engine::draft_round() {
    const int64_t V = target_.hparams().n_vocab;
    const int64_t B = target_.hparams().n_embd;
    std::vector<slot*> active;
    for (auto& sp : slots_) {
        slot& s = *sp;
        s.drafts.clear();
        s.draft_q.clear();
        s.drafting = false;
        if (!s.busy || s.prefilling || !s.req.spec.enabled) continue;
        const int n_past = kv_.n_pos(s.id);
        s.draft_limit = std::min({s.req.spec.draft_max, s.req.max_tokens - s.stats.n_gen - 1,
                                  kv_.n_ctx_slot() - n_past - 1});
        if (s.draft_limit <= 0) continue;
        if (s.req.force_drafts) {
            s.drafts = s.req.force_drafts(s.generated);
            if (static_cast<int>(s.drafts.size()) > s.draft_limit) s.drafts.resize(s.draft_limit);
            for (int32_t d : s.drafts) s.draft_q.push_back(token_dist{{d}, {1.0f}});
            continue;
        }
        if (!head_) continue;
        s.drafting = true;
        s.draft_h = s.pending_h;
        active.push_back(&s);
    }
    // One drafter pass per draft step with one row per still-drafting slot; all steps of a round
    // sit at the slot's committed length.
    std::vector<draft_row> rows;
    while (!active.empty()) {
        rows.clear();
        for (slot* s : active)
            rows.push_back({s->drafts.empty() ? s->last : s->drafts.back(), kv_.n_pos(s->id), s->id, s->draft_h.data()});
        head_->step(rows, kv_, draft_out_, pool_);
        std::vector<slot*> still;
        for (size_t r = 0; r < active.size(); ++r) {
            slot& s = *active[r];
            const float* logits = &draft_out_.logits[r * V];
            int32_t tok;
            float confidence;
            if (s.req.sampling.greedy()) {
                tok = argmax(logits, V);
                confidence = s.req.spec.draft_p_min > 0 ? top1_confidence(logits, V) : 1.0f;
                s.draft_q.push_back(token_dist{{tok}, {1.0f}});
            } else {
                token_dist q = s.draft_smp->distribution(logits, V);
                tok = s.draft_smp->draw(q);
                confidence = q.prob_of(tok);
                s.draft_q.push_back(std::move(q));
            }
            if (confidence < s.req.spec.draft_p_min) {
                s.draft_q.pop_back();
                continue;
            }
            s.drafts.push_back(tok);
            if (static_cast<int>(s.drafts.size()) >= s.draft_limit) continue;
            std::copy_n(&draft_out_.h_next[r * B], B, s.draft_h.data());
            still.push_back(&s);
        }
        active.swap(still);
    }
    for (auto& sp : slots_) {
        slot& s = *sp;
        if (static_cast<int>(s.drafts.size()) < s.req.spec.draft_min) {
            s.drafts.clear();
            s.draft_q.clear();
        }
    }
}

bool engine::step() {
    admit();
    publish_state();  // newly admitted requests are visible before their first token
    // Requests cancelled while running end here.
    for (auto& sp : slots_)
        if (sp->busy && sp->cancel_requested) finish(*sp, "cancelled");
    bool any = false;
    for (auto& sp : slots_) any |= sp->busy;
    if (!any) {
        publish_state();
        return false;
    }

    draft_round();

    // One target batch: generating slots first ([last, drafts...], all rows output), then prompt
    // chunks of prefilling slots in the remaining budget.
    std::vector<batch_row> batch;
    int n_out = 0;
    for (auto& sp : slots_) {
        slot& s = *sp;
        s.n_rows = 0;
        s.out_index = -1;
        if (!s.busy || s.prefilling) continue;
        const int n_past = kv_.n_pos(s.id);
        s.out_index = n_out;
        batch.push_back({s.last, n_past, s.id, true});
        for (size_t i = 0; i < s.drafts.size(); ++i)
            batch.push_back({s.drafts[i], n_past + 1 + static_cast<int>(i), s.id, true});
        s.n_rows = 1 + static_cast<int>(s.drafts.size());
        n_out += s.n_rows;
    }
    int budget = std::max(1, params_.n_batch - static_cast<int>(batch.size()));
    for (auto& sp : slots_) {
        slot& s = *sp;
        if (!s.busy || !s.prefilling || budget <= 0) continue;
        const int n_prompt = static_cast<int>(s.req.prompt.size());
        const int n = std::min(budget, n_prompt - s.n_prompt_done);
        for (int i = 0; i < n; ++i) {
            int p = s.n_prompt_done + i;
            bool last = p == n_prompt - 1;
            batch.push_back({s.req.prompt[p], p, s.id, last});
            if (last) s.out_index = n_out++;
        }
        s.n_rows = n;
        budget -= n;
    }
    if (batch.empty()) return true;
    target_.forward(batch, kv_, fwd_, head_ != nullptr, pool_);

    const int64_t V = target_.hparams().n_vocab;
    const int64_t H = target_.hparams().n_embd;
    for (auto& sp : slots_) {
        slot& s = *sp;
        if (!s.busy || s.n_rows == 0) continue;
        if (s.prefilling) {
            s.n_prompt_done += s.n_rows;
            {
                std::lock_guard<std::mutex> lock(mutex_);
                counters_.prompt_tokens += s.n_rows;
            }
            if (s.out_index < 0) continue;  // more prompt to go
            const float* row = &fwd_.logits[(size_t)s.out_index * V];
            int32_t t = s.smp->sample(row, V);
            s.smp->accept(t);
            if (head_) s.pending_h.assign(&fwd_.hidden[(size_t)s.out_index * H], &fwd_.hidden[(size_t)s.out_index * H] + H);
            s.prefilling = false;
            s.t_first = clock_type::now();
            s.stats.t_prompt_ms = ms_between(s.t_start, s.t_first);
            s.last = t;
            emit(s, {t});
            continue;
        }
        const int n_past = kv_.n_pos(s.id) - s.n_rows;  // position of `last`
        const float* rows = &fwd_.logits[(size_t)s.out_index * V];
        verify_result vr = verify_drafts(rows, V, s.drafts, s.draft_q, *s.smp);
        const int k = static_cast<int>(s.drafts.size()), a = vr.n_accepted;
        if (k > 0) {
            s.stats.n_rounds++;
            s.stats.n_drafted += k;
            s.stats.n_accepted += a;
            for (int i = 0; i < k && i < static_cast<int>(s.stats.drafted_per_pos.size()); ++i) s.stats.drafted_per_pos[i]++;
            for (int i = 0; i < a && i < static_cast<int>(s.stats.accepted_per_pos.size()); ++i) s.stats.accepted_per_pos[i]++;
            std::lock_guard<std::mutex> lock(mutex_);
            counters_.spec_num_drafts++;
            counters_.spec_num_draft_tokens += k;
            counters_.spec_num_accepted_tokens += a;
            if (counters_.spec_accepted_per_pos.size() < static_cast<size_t>(k))
                counters_.spec_accepted_per_pos.resize(k, 0);
            for (int i = 0; i < a; ++i) counters_.spec_accepted_per_pos[i]++;
        }
        // Keep `last` and the accepted drafts; the rejected positions leave the cache.
        kv_.truncate(s.id, n_past + 1 + a);
        if (head_) s.pending_h.assign(&fwd_.hidden[(size_t)(s.out_index + a) * H], &fwd_.hidden[(size_t)(s.out_index + a) * H] + H);
        s.last = vr.tokens.back();
        emit(s, vr.tokens);
    }
    publish_state();
    return true;
}

void engine::run_until_idle() {
    while (step()) {
    }
}

}  // namespace lf
