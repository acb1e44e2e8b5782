// Text ↔ token ids for the commands, from the tokenizer metadata of a GGUF. Models without
// tokenizer metadata still run on token ids; asking them for text is an error.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "gguf/gguf.h"

namespace lf::tools {

class text_codec {
public:
    explicit text_codec(const gguf_file& f) {
        if (auto eos = f.opt_int("tokenizer.ggml.eos_token_id")) eog_.push_back(static_cast<int32_t>(*eos));
    }
    std::vector<int32_t> encode(const std::string&, bool) const { fail("this model file carries no tokenizer"); }
    std::string decode(const std::vector<int32_t>&) const { return ""; }
    const std::vector<int32_t>& eog_tokens() const { return eog_; }

private:
    std::vector<int32_t> eog_;
};

}  // namespace lf::tools
