// Streaming detokenizer: turns generated tokens into text that is always whole UTF-8 characters.
// A character split across byte-fallback tokens is held back until its last byte arrives; bytes
// that can never form a character are emitted as U+FFFD, so every string it returns is valid
// UTF-8 (safe to put in JSON / SSE) and the concatenation of all returns equals
// utf8_sanitize(tokenizer.decode(ids)).
#pragma once
#include <cstdint>
#include <string>

#include "tokenizer/tokenizer.h"

namespace lf {

class stream_detokenizer {
public:
    // render_special: also emit the text of control tokens (e.g. "<|turn>").
    explicit stream_detokenizer(const tokenizer& tok, bool render_special = false)
        : tok_(&tok), render_special_(render_special) {}

    // Text made complete by this token (possibly empty). Throws lf::error for an id outside the
    // vocabulary.
    std::string push(int32_t id);
    // End of stream: whatever is still held back, with unfinished characters as U+FFFD.
    std::string flush();
    void reset() { pending_.clear(); }
    // Bytes currently held back (0..3).
    size_t n_pending() const { return pending_.size(); }

private:
    const tokenizer* tok_;
    bool render_special_;
    std::string pending_;  // raw bytes not yet emitted
};

}  // namespace lf
