// Parsing and validation of request bodies (untrusted JSON). Every field is checked for type and
// range; anything wrong throws api_error 400 naming the field. Unknown fields are ignored, as
// OpenAI clients send many; fields that ask for something this server cannot honour (n > 1,
// logprobs, echo, best_of, suffix, structured output) are refused rather than silently dropped.
#pragma once
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.h"

namespace lf::server {

// What validation needs to know about the loaded model and the server's settings.
struct request_limits {
    int n_ctx_slot = 0;       // positions one request may use
    int n_vocab = 0;
    int max_draft = 16;       // largest per-request draft_max
    bool has_head = false;    // an MTP head is loaded
    bool has_tokenizer = false;
    spec_params spec;         // server defaults (--draft-max, --draft-min, --draft-p-min)
};

struct gen_options {
    int max_tokens = -1;  // -1: until an end-of-generation token or the slot's context is full
    sampling_params sampling;
    spec_params spec;
    std::vector<std::string> stop;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    bool ignore_eos = false;
    bool return_tokens = false;  // add generated token ids to each choice (llama.cpp / vLLM extension)
};

// The body as a JSON object; 400 for malformed JSON, a non-object, or nesting deeper than 128.
nlohmann::json parse_body(const std::string& body);

// Sampling, length, stop, stream and speculative fields shared by chat and text completions.
// default_max_tokens applies when no length field is given.
gen_options parse_gen_options(const nlohmann::json& body, const request_limits& lim, int default_max_tokens);

// `prompt` of /v1/completions: a string, an array of token ids, or a one-element array of
// either. Multiple prompts per request are refused.
std::variant<std::string, std::vector<int32_t>> parse_prompt(const nlohmann::json& body, const request_limits& lim);

// Token ids from an untrusted array (field named for errors); each must lie in [0, n_vocab).
std::vector<int32_t> parse_token_ids(const nlohmann::json& v, const std::string& field, int n_vocab);

// Checks that a tokenized prompt fits a slot (400 context_length_exceeded otherwise).
void check_prompt_fits(size_t n_prompt_tokens, const request_limits& lim, const std::string& param);

// Optional typed fields; null counts as absent. Throw api_error 400 naming the key.
bool opt_bool(const nlohmann::json& body, const char* key, bool dflt);
std::string opt_string(const nlohmann::json& body, const char* key, const std::string& dflt);

}  // namespace lf::server
