// The stand-in Gemma 4 vocabulary of synthetic models; see synth-vocab.h.
#include "convert/synth-vocab.h"

#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"

namespace lf {

namespace {

const std::string k_space = "\xE2\x96\x81";  // U+2581, the space as the vocabulary spells it

// Ids 0..15 as in the Gemma 4 tokenizers (the tiny trained pair's tokenizer.json lists the same).
const char* const k_specials[] = {
    "<pad>", "<eos>", "<bos>", "<unk>", "<|turn>", "<turn|>", "<|think|>", "<|channel>",
    "<channel|>", "<|tool>", "<tool|>", "<|tool_call>", "<tool_call|>", "<|tool_response>", "<tool_response|>", "<|\"|>",
};

bool is_visible_marker(const std::string& t) {
    for (const char* m : k_gemma4_visible_markers)
        if (t == m) return true;
    return false;
}

// Single-character pieces: the space, printable ASCII, and newline runs (llama.cpp's gemma4
// pre-tokenizer keeps "\n" runs whole when the vocabulary has them).
std::vector<std::string> char_pieces() {
    std::vector<std::string> out = {k_space, "\n", "\n\n"};
    for (int c = 0x21; c <= 0x7e; ++c) out.push_back(std::string(1, static_cast<char>(c)));
    return out;
}

}  // namespace

int64_t synth_vocab_min_size() {
    return static_cast<int64_t>(std::size(k_specials)) + 256 + static_cast<int64_t>(char_pieces().size());
}

vocab synth_vocab(int64_t n_vocab) {
    if (n_vocab < synth_vocab_min_size())
        fail("vocabulary of {} tokens is too small for the stand-in tokenizer (at least {})", n_vocab,
             synth_vocab_min_size());
    if (n_vocab > INT32_MAX) fail("vocabulary of {} tokens exceeds int32 token ids", n_vocab);
    vocab v;
    v.model = "gemma4";
    const size_t n = static_cast<size_t>(n_vocab);
    v.tokens.reserve(n);
    v.scores.reserve(n);
    v.types.reserve(n);
    std::set<std::string> seen;
    auto add = [&](const std::string& text, float score, token_type type) {
        if (!seen.insert(text).second) abort_at(__FILE__, __LINE__, "duplicate stand-in token");
        v.tokens.push_back(text);
        v.scores.push_back(score);
        v.types.push_back(type);
    };
    for (const char* s : k_specials) add(s, -1000.0f, is_visible_marker(s) ? token_type::user_defined : token_type::control);
    for (int b = 0; b < 256; ++b) add(fmt::format("<0x{:02X}>", b), 0.0f, token_type::byte);
    for (const auto& c : char_pieces()) add(c, 0.0f, token_type::normal);

    // Merges in rank order: "▁" + letter first (word starts), then letter pairs, as long as
    // there is room for the merged piece. A merge's rank is its index.
    std::vector<std::pair<std::string, std::string>> candidates;
    for (char a = 'a'; a <= 'z'; ++a) candidates.push_back({k_space, std::string(1, a)});
    for (char a = 'a'; a <= 'z'; ++a)
        for (char b = 'a'; b <= 'z'; ++b) candidates.push_back({std::string(1, a), std::string(1, b)});
    for (const auto& [l, r] : candidates) {
        if (v.tokens.size() >= n) break;
        add(l + r, -static_cast<float>(v.merges.size()), token_type::normal);
        v.merges.push_back(l + " " + r);
    }
    // Placeholder pieces fill the rest; they never arise from text, only from sampling.
    for (size_t i = v.tokens.size(); i < n; ++i) add(fmt::format("{}t{}", k_space, i), -1e6f, token_type::normal);

    v.pad_id = 0;
    v.eos_id = 1;
    v.bos_id = 2;
    v.unk_id = 3;
    v.add_bos = true;
    v.add_eos = false;
    v.add_sep = false;
    v.add_space_prefix = false;
    v.validate();
    return v;
}

}  // namespace lf
