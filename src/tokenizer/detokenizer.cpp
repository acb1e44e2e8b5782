// Streaming detokenizer; see detokenizer.h.
#include "tokenizer/detokenizer.h"

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace lf {

std::string stream_detokenizer::push(int32_t id) {
    if (id < 0 || id >= tok_->n_tokens()) fail("token id {} is outside the vocabulary (size {})", id, tok_->n_tokens());
    pending_ += tok_->token_to_piece(id, render_special_);
    size_t hold = utf8_incomplete_tail(pending_);
    std::string out = utf8_sanitize(std::string_view(pending_).substr(0, pending_.size() - hold));
    pending_.erase(0, pending_.size() - hold);
    return out;
}

std::string stream_detokenizer::flush() {
    std::string out = utf8_sanitize(pending_);
    pending_.clear();
    return out;
}

}  // namespace lf
