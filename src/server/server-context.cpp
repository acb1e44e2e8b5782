// Loading models, tokenizer and engine for the server (see server-context.h).
#include "server/server-context.h"

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "core/error.h"

namespace lf::server {

server_context::server_context(server_config cfg) : cfg_(std::move(cfg)) {
    if (cfg_.n_slots < 1 || cfg_.n_slots > 256) fail("--parallel must be in [1, 256], got {}", cfg_.n_slots);
    if (cfg_.n_ctx / cfg_.n_slots < 16)
        fail("--ctx-size {} leaves fewer than 16 positions for each of {} slots (the context is split evenly)", cfg_.n_ctx,
             cfg_.n_slots);
    target_ = std::make_unique<gemma4_model>(cfg_.model_path, cfg_.load);
    if (!cfg_.head_path.empty()) head_ = std::make_unique<gemma4_assistant>(cfg_.head_path, *target_, cfg_.load);
    // Models without tokenizer metadata (test fixtures) still serve token-id prompts.
    if (target_->file().opt_str("tokenizer.ggml.model")) {
        tok_ = std::make_unique<tokenizer>(tokenizer::from_gguf(target_->file()));
        eog_ = tok_->eog_ids();
    } else if (auto eos = target_->file().opt_int("tokenizer.ggml.eos_token_id")) {
        eog_.push_back(static_cast<int32_t>(*eos));
    }

    engine_params ep;
    ep.n_slots = cfg_.n_slots;
    ep.n_ctx = cfg_.n_ctx;
    ep.n_batch = cfg_.n_batch;
    ep.max_queue = cfg_.max_queue;
    ep.n_threads = cfg_.n_threads;
    engine_ = std::make_unique<engine>(*target_, head_.get(), ep);
    loop_ = std::make_unique<engine_loop>(*engine_);

    limits_.n_ctx_slot = engine_->n_ctx_slot();
    limits_.n_vocab = static_cast<int>(target_->hparams().n_vocab);
    limits_.max_draft = std::max(0, std::min(16, cfg_.n_batch - 1));
    limits_.has_head = head_ != nullptr;
    limits_.has_tokenizer = tok_ != nullptr;
    limits_.spec = cfg_.spec;
    limits_.spec.draft_max = std::min(limits_.spec.draft_max, limits_.max_draft);
    limits_.spec.enabled = head_ != nullptr;

    namespace fs = std::filesystem;
    fs::path p(cfg_.model_path);
    known_names_ = cfg_.aliases;
    known_names_.push_back(p.filename().string());
    known_names_.push_back(p.stem().string());
    known_names_.push_back(cfg_.model_path);
    model_id_ = cfg_.aliases.empty() ? p.filename().string() : cfg_.aliases.front();
    created_ = static_cast<int64_t>(std::time(nullptr));
}

server_context::~server_context() {
    // The engine thread goes first: it calls into the engine, which calls into the models.
    loop_.reset();
}

bool server_context::model_known(const std::string& name) const {
    return std::find(known_names_.begin(), known_names_.end(), name) != known_names_.end();
}

void server_context::add_active(uint64_t id) {
    std::lock_guard<std::mutex> lock(active_m_);
    active_.insert(id);
}

void server_context::remove_active(uint64_t id) {
    std::lock_guard<std::mutex> lock(active_m_);
    active_.erase(id);
}

void server_context::cancel_all() {
    std::set<uint64_t> ids;
    {
        // Not held while cancelling: the engine calls back into handlers under its own lock.
        std::lock_guard<std::mutex> lock(active_m_);
        ids = active_;
    }
    for (uint64_t id : ids) loop_->cancel(id);
}

}  // namespace lf::server
