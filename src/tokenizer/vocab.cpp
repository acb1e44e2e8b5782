// vocab validation; see vocab.h.
#include "tokenizer/vocab.h"

#include "core/error.h"

namespace lf {

const char* const k_gemma4_visible_markers[7] = {
    "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|tool_response>", "<tool_response|>", "<|\"|>",
};

void vocab::validate() const {
    if (tokens.empty()) fail("tokenizer.ggml.tokens is empty");
    const size_t n = tokens.size();
    if (n > static_cast<size_t>(INT32_MAX)) fail("tokenizer.ggml.tokens has {} entries, more than int32 ids allow", n);
    if (scores.size() != n) fail("tokenizer.ggml.scores has {} entries, expected {} (one per token)", scores.size(), n);
    if (types.size() != n) fail("tokenizer.ggml.token_type has {} entries, expected {} (one per token)", types.size(), n);
    for (size_t i = 0; i < n; ++i) {
        auto t = static_cast<int32_t>(types[i]);
        if (t < 0 || t > 6) fail("tokenizer.ggml.token_type[{}] = {} is not a token type (0..6)", i, t);
    }
    const std::pair<const char*, int32_t> ids[] = {
        {"tokenizer.ggml.bos_token_id", bos_id},     {"tokenizer.ggml.eos_token_id", eos_id},
        {"tokenizer.ggml.unknown_token_id", unk_id}, {"tokenizer.ggml.padding_token_id", pad_id},
        {"tokenizer.ggml.seperator_token_id", sep_id}, {"tokenizer.ggml.cls_token_id", cls_id},
        {"tokenizer.ggml.mask_token_id", mask_id},
    };
    for (const auto& [key, id] : ids)
        if (id < -1 || id >= static_cast<int64_t>(n)) fail("{} = {} is outside the vocabulary (size {})", key, id, n);
    if (add_bos && bos_id < 0) fail("tokenizer.ggml.add_bos_token is true but tokenizer.ggml.bos_token_id is missing");
    if (add_eos && eos_id < 0) fail("tokenizer.ggml.add_eos_token is true but tokenizer.ggml.eos_token_id is missing");
}

}  // namespace lf
