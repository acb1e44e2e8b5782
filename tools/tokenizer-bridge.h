// Text ↔ token ids for the commands, from the tokenizer metadata of a GGUF. Models without
// tokenizer metadata still run on token ids (end of generation then falls back to the eos id
// key, if any); asking them for text is an error.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace lf::tools {

class text_codec {
public:
    explicit text_codec(const gguf_file& f) {
        if (f.find("tokenizer.ggml.tokens")) {
            tok_.emplace(tokenizer::from_gguf(f));
            eog_ = tok_->eog_ids();
        } else if (auto eos = f.opt_int("tokenizer.ggml.eos_token_id")) {
            eog_.push_back(static_cast<int32_t>(*eos));
        }
    }
    bool has_tokenizer() const { return tok_.has_value(); }
    std::vector<int32_t> encode(const std::string& text, bool add_bos) const {
        if (!tok_) fail("this model file carries no tokenizer; give the prompt as --tokens");
        return tok_->tokenize(text, add_bos, false);
    }
    std::string decode(const std::vector<int32_t>& ids) const { return tok_ ? tok_->decode(ids, false) : ""; }
    const std::vector<int32_t>& eog_tokens() const { return eog_; }

private:
    std::optional<tokenizer> tok_;
    std::vector<int32_t> eog_;
};

}  // namespace lf::tools
