// The Gemma BPE tokenizer (llama.cpp's `gemma4` vocabulary type), matching Hugging Face
// `tokenizers` on Gemma's tokenizer.json:
//   1. added tokens (types control / user_defined / unknown) are found in the raw text,
//      leftmost-longest; a match the caller does not allow stays plain text (HF semantics);
//   2. the rest is normalized (' ' → '▁'), split into runs of '\n' and runs of anything else;
//      a newline run that is itself a token is emitted whole;
//   3. every run is BPE-merged by merge rank starting from its Unicode characters; a character not
//      in the vocabulary falls back to its <0xXX> byte tokens (or <unk> when those are missing).
// Decoding reverses it: '▁' → ' ', byte tokens → bytes, control tokens only when asked.
//
// Matching policy for added tokens:
//   parse_special = true : every control, user-defined and unknown token (HF's default encode);
//   parse_special = false: only user-defined tokens that are not Gemma 4 protocol markers, which
//                          equals HF with encode_special_tokens=True (no special token can be
//                          injected through user text, but "<table>" or "\t\t" still match).
// Tokens whose text is a known Gemma special marker are treated as special even if the GGUF calls
// them normal (some converters lose the flag); see tokenizer.cpp.
//
// A tokenizer is immutable after construction and safe to use from several threads.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.h"

namespace lf {

class gguf_file;

class tokenizer {
public:
    // Throws lf::error when the vocabulary is inconsistent (bad merge, id out of range, ...).
    explicit tokenizer(vocab v);
    // Loads only the tokenizer keys of the file.
    static tokenizer from_gguf(const gguf_file& f);

    // add_special: prepend BOS (and append EOS) as the vocabulary says (add_bos / add_eos).
    std::vector<int32_t> tokenize(std::string_view text, bool add_special, bool parse_special) const;

    // Raw bytes of the tokens' text; control/unknown/unused tokens appear only when render_special.
    // Byte tokens may leave invalid UTF-8 (use stream_detokenizer or utf8_sanitize for clients).
    // Throws lf::error for an id outside the vocabulary.
    std::string decode(std::span<const int32_t> ids, bool render_special) const;
    // The bytes one token contributes to decode(); empty for an unrendered special token.
    std::string_view token_to_piece(int32_t id, bool render_special) const;

    bool is_eog(int32_t id) const { return id >= 0 && id < n_tokens() && eog_[id]; }
    const std::vector<int32_t>& eog_ids() const { return eog_ids_; }
    bool is_control(int32_t id) const;

    int32_t n_tokens() const { return voc_.n_tokens(); }
    int32_t bos_id() const { return voc_.bos_id; }
    int32_t eos_id() const { return voc_.eos_id; }
    const vocab& get_vocab() const { return voc_; }
    // Id of the token whose text is exactly `text`, if any.
    std::optional<int32_t> find_token(std::string_view text) const;
    // Token text as stored (e.g. "<bos>", "▁the"); "" for an out-of-range id.
    const std::string& token_text(int32_t id) const;

private:
    struct string_hash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct merge_info {
        int32_t rank;
        int32_t new_id;
    };
    // Trie over the bytes of added-token texts, for leftmost-longest matching.
    struct trie_node {
        std::vector<std::pair<uint8_t, int32_t>> children;  // sorted by byte
        int32_t token = -1;
    };
    enum class match_rule : uint8_t { never, always, special_only };

    void tokenize_text(std::string_view text, std::vector<int32_t>& out) const;
    void bpe(std::string_view word, std::vector<int32_t>& out) const;
    // Longest added token starting at text[pos]: {id, length} or {-1, 0}.
    std::pair<int32_t, size_t> match_added(std::string_view text, size_t pos) const;

    vocab voc_;
    std::unordered_map<std::string, int32_t, string_hash, std::equal_to<>> token_to_id_;
    std::unordered_map<uint64_t, merge_info> merges_;  // key: left_id << 32 | right_id
    std::array<int32_t, 256> byte_ids_{};
    std::vector<std::string> pieces_;  // decoded text of each token
    std::vector<match_rule> match_rule_;
    std::vector<trie_node> trie_;  // trie_[0] is the root
    std::array<int32_t, 256> trie_root_{};
    std::vector<bool> eog_;
    std::vector<int32_t> eog_ids_;
};

}  // namespace lf
