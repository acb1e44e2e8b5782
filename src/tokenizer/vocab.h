// The vocabulary of a Gemma BPE tokenizer as GGUF stores it (`tokenizer.ggml.*` keys and
// `tokenizer.chat_template`), independent of where it came from (a GGUF file, a Hugging Face
// tokenizer.json, or plain vectors in a test).
//
// Invariants after validate(): tokens, scores and types have the same length n > 0; every
// special id is -1 (absent) or in [0, n); merges are "left right" strings whose rank is their
// index. Token text is raw UTF-8 with the space character spelled U+2581 (▁), as in the HF vocab.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lf {

class gguf_file;
class gguf_writer;

// Values of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
enum class token_type : int32_t {
    undefined = 0,
    normal = 1,
    unknown = 2,
    control = 3,       // special token: matched in text only when the caller allows it, not rendered
    user_defined = 4,  // added token: matched in text, rendered as text
    unused = 5,
    byte = 6,          // <0xXX> byte-fallback token
};

struct vocab {
    std::string model = "gemma4";  // tokenizer.ggml.model
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<token_type> types;
    std::vector<std::string> merges;

    int32_t bos_id = -1;
    int32_t eos_id = -1;
    int32_t unk_id = -1;
    int32_t pad_id = -1;
    int32_t sep_id = -1;   // written only when present
    int32_t cls_id = -1;
    int32_t mask_id = -1;

    bool add_bos = true;
    bool add_eos = false;
    std::optional<bool> add_sep;  // written only when the HF post-processor decided it
    bool add_space_prefix = false;

    std::string chat_template;  // tokenizer.chat_template ("" = none)
    // tokenizer.chat_template.<name> for HF repos that ship several named templates.
    std::vector<std::pair<std::string, std::string>> named_chat_templates;

    int32_t n_tokens() const { return static_cast<int32_t>(tokens.size()); }
    // Throws lf::error naming the inconsistent field.
    void validate() const;
};

// Reads the tokenizer keys of a GGUF file (no tensors are touched). Throws lf::error naming the
// key on missing or malformed metadata. Only tokenizer.ggml.model = "gemma4" is accepted.
vocab vocab_from_gguf(const gguf_file& f);

// Writes the tokenizer keys in the order upstream llama.cpp's converter writes them.
void write_vocab_gguf(const vocab& v, gguf_writer& w);

// The Gemma 4 protocol markers that upstream conversion forces to USER_DEFINED so that they are
// rendered as text (the output parser reads them). They stay special for matching: user text is
// never turned into one of them unless the caller asks for special-token parsing.
extern const char* const k_gemma4_visible_markers[7];

}  // namespace lf
