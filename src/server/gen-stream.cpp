// The engine-thread → HTTP-thread bridge of one generation (see gen-stream.h).
#include "server/gen-stream.h"

namespace lf::server {

gen_stream::gen_stream(const tokenizer* tok, std::vector<std::string> stop) : tok_(tok), stop_(std::move(stop)) {
    if (tok_) detok_.emplace(*tok_);
}

void gen_stream::attach(gen_request& r) {
    auto self = shared_from_this();
    r.on_tokens = [self](const std::vector<int32_t>& ids) { return self->on_tokens(ids); };
    r.on_done = [self](const gen_result& res) { self->on_done(res); };
}

bool gen_stream::on_tokens(const std::vector<int32_t>& ids) {
    std::string text;
    std::vector<int32_t> taken;
    bool hit = false;
    // Token by token, so that ids after a stop string (one speculative step can emit several)
    // are not reported.
    for (int32_t id : ids) {
        taken.push_back(id);
        if (!detok_) continue;
        std::string piece;
        try {
            piece = detok_->push(id);
        } catch (const std::exception&) {
            // An id the model can emit but the vocabulary lacks (padded embedding rows) has no text.
        }
        text += stop_.push(piece);
        if (stop_.stopped()) {
            hit = true;
            break;
        }
    }
    {
        std::lock_guard<std::mutex> lock(m_);
        text_ += text;
        tokens_.insert(tokens_.end(), taken.begin(), taken.end());
        stop_hit_ |= hit;
    }
    cv_.notify_all();
    return !hit && !abandoned_.load();
}

void gen_stream::on_done(const gen_result& r) {
    std::string tail;
    if (detok_ && !stop_.stopped()) {
        tail = stop_.push(detok_->flush());
        tail += stop_.flush();
    }
    {
        std::lock_guard<std::mutex> lock(m_);
        text_ += tail;
        result_ = r;
        done_ = true;
    }
    cv_.notify_all();
}

gen_stream::news gen_stream::wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait_for(lock, timeout, [&] { return done_ || !text_.empty() || !tokens_.empty(); });
    news n;
    n.text.swap(text_);
    n.tokens.swap(tokens_);
    n.done = done_;
    return n;
}

void gen_stream::wait_done() {
    std::unique_lock<std::mutex> lock(m_);
    cv_.wait(lock, [&] { return done_; });
}

std::string gen_stream::finish_reason() const {
    std::lock_guard<std::mutex> lock(m_);
    if (stop_hit_) return "stop";
    return result_.finish_reason;
}

}  // namespace lf::server
