// Builds a Gemma vocab from a Hugging Face tokenizer directory (tokenizer.json,
// tokenizer_config.json, optional chat_template.jinja / chat_template.json / config.json), with
// the values upstream llama.cpp's converter writes for `gemma4` (LlamaHfVocab + SpecialVocab +
// the Gemma 4 overrides):
//   - token order = ids; added tokens beyond the model vocab are appended in id order;
//   - scores are all -1000.0;
//   - types: <0xXX> → byte; added token marked "special" → control; other added tokens →
//     user_defined; everything else → normal; the seven Gemma 4 protocol markers (<|channel>,
//     <|tool_call>, <|"|>, ...) → user_defined so they render as text;
//   - merges as "left right" (a space inside a part is written as U+0120, as gguf-py does);
//   - bos/eos/unk/sep/pad/cls/mask ids from tokenizer_config.json's *_token entries looked up among
//     the added tokens (config.json's *_token_id as fallback);
//   - add_bos forced true, add_eos/add_sep from the post-processor and tokenizer_config;
//     add_space_prefix false;
//   - chat template from tokenizer_config.json, else chat_template.jinja, else chat_template.json.
// Where upstream takes the special set from transformers' all_special_ids, this uses the
// "special" flag of tokenizer.json's added tokens: it needs no Python, and it keeps non-special
// added tokens (Gemma's "<table>", tab runs, ...) matchable in text exactly as HF matches them.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/vocab.h"

namespace lf {

struct hf_tokenizer_files {
    nlohmann::json tokenizer;           // tokenizer.json (required)
    nlohmann::json tokenizer_config;    // tokenizer_config.json, or null
    nlohmann::json config;              // config.json, or null
    std::optional<std::string> chat_template_jinja;                          // chat_template.jinja
    std::vector<std::pair<std::string, std::string>> additional_templates;  // additional_chat_templates/*.jinja
    nlohmann::json chat_template_json;  // chat_template.json, or null
};

// Reads the files of `dir`; throws lf::error naming the file when one is unreadable or not JSON.
hf_tokenizer_files read_hf_tokenizer_files(const std::string& dir);

// Throws lf::error naming the field when the files do not describe a BPE tokenizer.
vocab vocab_from_hf(const hf_tokenizer_files& files);

inline vocab vocab_from_hf_dir(const std::string& dir) { return vocab_from_hf(read_hf_tokenizer_files(dir)); }

}  // namespace lf
