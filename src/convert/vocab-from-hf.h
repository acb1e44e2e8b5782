// Tokenizer metadata for a converted GGUF: reads a Hugging Face directory (tokenizer.json,
// tokenizer_config.json, optional chat_template.jinja / chat_template.json / config.json) and
// sets the tokenizer.* keys the way upstream llama.cpp's converter does for `gemma4`
// (tokenizer.ggml.model, tokens, scores, token_type, merges, special ids, add_* flags,
// chat_template, add_space_prefix). The rules are in tokenizer/vocab-hf.h.
#pragma once
#include <string>

namespace lf {

class gguf_writer;

// Throws lf::error naming the file or field when the directory does not hold a usable
// tokenizer. Existing tokenizer.* keys in `w` are replaced in place.
void write_vocab_metadata(const std::string& hf_dir, gguf_writer& w);

}  // namespace lf
