// Validation of request bodies (see request-parse.h).
#include "server/request-parse.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>

#include "server/api-error.h"

namespace lf::server {

using json = nlohmann::json;

namespace {

const json* field(const json& body, const char* key) {
    auto it = body.find(key);
    if (it == body.end() || it->is_null()) return nullptr;
    return &*it;
}

double opt_number(const json& body, const char* key, double dflt, double lo, double hi) {
    const json* v = field(body, key);
    if (!v) return dflt;
    if (!v->is_number()) bad_param(key, "'{}' must be a number", key);
    double x = v->get<double>();
    if (!std::isfinite(x) || x < lo || x > hi) bad_param(key, "'{}' must be between {} and {}, got {}", key, lo, hi, x);
    return x;
}

// Integers arrive as JSON integers; 64-bit range is checked by nlohmann's own types.
int64_t opt_int(const json& body, const char* key, int64_t dflt, int64_t lo, int64_t hi) {
    const json* v = field(body, key);
    if (!v) return dflt;
    if (!v->is_number_integer()) bad_param(key, "'{}' must be an integer", key);
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        bad_param(key, "'{}' is out of range", key);
    int64_t x = v->get<int64_t>();
    if (x < lo || x > hi) bad_param(key, "'{}' must be between {} and {}, got {}", key, lo, hi, x);
    return x;
}

void refuse_unless(const json& body, const char* key, const std::function<bool(const json&)>& ok, const char* why) {
    const json* v = field(body, key);
    if (v && !ok(*v)) bad_param(key, "'{}' {}", key, why);
}

std::vector<std::string> parse_stop(const json& body) {
    const json* v = field(body, "stop");
    if (!v) return {};
    std::vector<std::string> out;
    auto add = [&](const json& s) {
        if (!s.is_string()) bad_param("stop", "'stop' must be a string or an array of strings");
        std::string str = s.get<std::string>();
        if (str.size() > 1024) bad_param("stop", "a stop sequence is longer than 1024 bytes");
        if (!str.empty()) out.push_back(std::move(str));
    };
    if (v->is_array()) {
        if (v->size() > 16) bad_param("stop", "at most 16 stop sequences are allowed, got {}", v->size());
        for (const auto& s : *v) add(s);
    } else {
        add(*v);
    }
    return out;
}

std::vector<std::pair<int32_t, float>> parse_logit_bias(const json& body, int n_vocab) {
    const json* v = field(body, "logit_bias");
    if (!v) return {};
    if (!v->is_object()) bad_param("logit_bias", "'logit_bias' must be an object of token id -> bias");
    std::vector<std::pair<int32_t, float>> out;
    for (const auto& [key, bias] : v->items()) {
        size_t used = 0;
        long long id = -1;
        try {
            id = std::stoll(key, &used);
        } catch (...) {
            used = 0;
        }
        if (used == 0 || used != key.size() || id < 0 || id >= n_vocab)
            bad_param("logit_bias", "logit_bias key '{}' is not a token id in [0, {})", key, n_vocab);
        if (!bias.is_number()) bad_param("logit_bias", "logit_bias value for token {} must be a number", id);
        double b = bias.get<double>();
        if (!std::isfinite(b) || b < -100 || b > 100)
            bad_param("logit_bias", "logit_bias value for token {} must be between -100 and 100", id);
        out.emplace_back(static_cast<int32_t>(id), static_cast<float>(b));
    }
    return out;
}

spec_params parse_speculative(const json& body, const request_limits& lim) {
    spec_params sp = lim.spec;
    sp.enabled = lim.has_head && lim.spec.enabled;
    const json* v = field(body, "speculative");
    if (!v) return sp;
    if (!v->is_object()) bad_param("speculative", "'speculative' must be an object");
    for (const auto& [key, val] : v->items())
        if (key != "enabled" && key != "draft_max" && key != "draft_min" && key != "draft_p_min")
            bad_param("speculative", "unknown field 'speculative.{}'", key);
    if (const json* e = field(*v, "enabled")) {
        if (!e->is_boolean()) bad_param("speculative", "'speculative.enabled' must be a boolean");
        sp.enabled = e->get<bool>() && lim.has_head;
    }
    if (const json* d = field(*v, "draft_max")) {
        if (!d->is_number_integer() || d->get<int64_t>() < 0 || d->get<int64_t>() > lim.max_draft)
            bad_param("speculative", "'speculative.draft_max' must be an integer in [0, {}]", lim.max_draft);
        sp.draft_max = static_cast<int>(d->get<int64_t>());
    }
    if (const json* d = field(*v, "draft_min")) {
        if (!d->is_number_integer() || d->get<int64_t>() < 0 || d->get<int64_t>() > lim.max_draft)
            bad_param("speculative", "'speculative.draft_min' must be an integer in [0, {}]", lim.max_draft);
        sp.draft_min = static_cast<int>(d->get<int64_t>());
    }
    if (const json* p = field(*v, "draft_p_min")) {
        if (!p->is_number() || !(p->get<double>() >= 0.0 && p->get<double>() <= 1.0))
            bad_param("speculative", "'speculative.draft_p_min' must be a number in [0, 1]");
        sp.draft_p_min = static_cast<float>(p->get<double>());
    }
    if (sp.draft_min > sp.draft_max) sp.draft_min = sp.draft_max;
    return sp;
}

}  // namespace

namespace {

// Nesting depth of JSON text ([ and { outside strings). Copying, comparing, printing and rendering
// JSON all recurse, so a body nested deeper than any real request is refused before it is parsed.
int json_depth(const std::string& text) {
    int depth = 0, max_depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        char ch = text[i];
        if (in_string) {
            if (ch == '\\') ++i;
            else if (ch == '"') in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '[' || ch == '{') {
            max_depth = std::max(max_depth, ++depth);
        } else if (ch == ']' || ch == '}') {
            --depth;
        }
    }
    return max_depth;
}

constexpr int k_max_json_depth = 128;

}  // namespace

json parse_body(const std::string& body) {
    if (json_depth(body) > k_max_json_depth)
        throw api_error(400, fmt::format("the request body nests deeper than {} levels", k_max_json_depth),
                        "invalid_request_error", "", "too_deep");
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) throw api_error(400, "the request body is not valid JSON", "invalid_request_error", "", "invalid_json");
    if (!j.is_object()) throw api_error(400, "the request body must be a JSON object", "invalid_request_error");
    return j;
}

bool opt_bool(const json& body, const char* key, bool dflt) {
    const json* v = field(body, key);
    if (!v) return dflt;
    if (!v->is_boolean()) bad_param(key, "'{}' must be a boolean", key);
    return v->get<bool>();
}

std::string opt_string(const json& body, const char* key, const std::string& dflt) {
    const json* v = field(body, key);
    if (!v) return dflt;
    if (!v->is_string()) bad_param(key, "'{}' must be a string", key);
    return v->get<std::string>();
}

gen_options parse_gen_options(const json& body, const request_limits& lim, int default_max_tokens) {
    gen_options o;
    o.stream = opt_bool(body, "stream", false);
    if (const json* so = field(body, "stream_options")) {
        if (!so->is_object()) bad_param("stream_options", "'stream_options' must be an object");
        if (!o.stream) bad_param("stream_options", "'stream_options' is only allowed when 'stream' is true");
        o.include_usage = opt_bool(*so, "include_usage", false);
    }

    // Length: OpenAI's current name, its older one, and llama.cpp's (-1 = unlimited).
    o.max_tokens = default_max_tokens;
    if (field(body, "n_predict")) o.max_tokens = static_cast<int>(opt_int(body, "n_predict", -1, -1, INT32_MAX));
    if (field(body, "max_tokens")) o.max_tokens = static_cast<int>(opt_int(body, "max_tokens", -1, 0, INT32_MAX));
    if (field(body, "max_completion_tokens"))
        o.max_tokens = static_cast<int>(opt_int(body, "max_completion_tokens", -1, 0, INT32_MAX));

    sampling_params& s = o.sampling;
    s.temperature = static_cast<float>(opt_number(body, "temperature", 1.0, 0.0, 2.0));
    s.top_p = static_cast<float>(opt_number(body, "top_p", 1.0, 0.0, 1.0));
    s.top_k = static_cast<int>(opt_int(body, "top_k", 0, 0, lim.n_vocab));
    s.min_p = static_cast<float>(opt_number(body, "min_p", 0.0, 0.0, 1.0));
    s.presence_penalty = static_cast<float>(opt_number(body, "presence_penalty", 0.0, -2.0, 2.0));
    s.frequency_penalty = static_cast<float>(opt_number(body, "frequency_penalty", 0.0, -2.0, 2.0));
    s.logit_bias = parse_logit_bias(body, lim.n_vocab);
    if (field(body, "seed")) {
        s.seed = static_cast<uint64_t>(opt_int(body, "seed", 0, INT64_MIN, INT64_MAX));
    } else {
        static thread_local std::random_device rd;
        s.seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    }

    o.stop = parse_stop(body);
    if (!o.stop.empty() && !lim.has_tokenizer)
        bad_param("stop", "stop sequences need text, and this model carries no tokenizer");
    o.ignore_eos = opt_bool(body, "ignore_eos", false);
    o.return_tokens = opt_bool(body, "return_tokens", false) || opt_bool(body, "return_token_ids", false);
    o.spec = parse_speculative(body, lim);

    // Asked-for features this server does not have: refuse instead of answering something else.
    if (opt_int(body, "n", 1, 1, 128) != 1) bad_param("n", "only n = 1 is supported");
    refuse_unless(body, "logprobs", [](const json& v) { return v.is_boolean() && !v.get<bool>(); },
                  "is not supported");
    refuse_unless(body, "top_logprobs", [](const json& v) { return v.is_number_integer() && v.get<int64_t>() == 0; },
                  "is not supported");
    refuse_unless(body, "echo", [](const json& v) { return v.is_boolean() && !v.get<bool>(); }, "is not supported");
    refuse_unless(body, "best_of", [](const json& v) { return v.is_number_integer() && v.get<int64_t>() == 1; },
                  "must be 1");
    refuse_unless(body, "suffix", [](const json&) { return false; }, "is not supported");
    refuse_unless(body, "response_format",
                  [](const json& v) { return v.is_object() && v.value("type", json()) == "text"; },
                  "supports only {\"type\": \"text\"}");
    return o;
}

std::vector<int32_t> parse_token_ids(const json& v, const std::string& name, int n_vocab) {
    if (!v.is_array()) bad_param(name, "'{}' must be an array of token ids", name);
    std::vector<int32_t> ids;
    ids.reserve(v.size());
    for (const auto& t : v) {
        if (!t.is_number_integer()) bad_param(name, "'{}' must contain only integer token ids", name);
        int64_t id = t.is_number_unsigned() && t.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX) ? -1 : t.get<int64_t>();
        if (id < 0 || id >= n_vocab) bad_param(name, "token id {} in '{}' is outside the vocabulary [0, {})", t.dump(), name, n_vocab);
        ids.push_back(static_cast<int32_t>(id));
    }
    return ids;
}

std::variant<std::string, std::vector<int32_t>> parse_prompt(const json& body, const request_limits& lim) {
    const json* v = field(body, "prompt");
    if (!v) bad_param("prompt", "'prompt' is required");
    const json* p = v;
    if (v->is_array() && !v->empty() && (v->front().is_string() || v->front().is_array())) {
        if (v->size() != 1) bad_param("prompt", "only one prompt per request is supported");
        p = &v->front();
    }
    if (p->is_string()) {
        if (!lim.has_tokenizer) bad_param("prompt", "this model carries no tokenizer; send the prompt as token ids");
        if (p->get_ref<const std::string&>().empty()) bad_param("prompt", "'prompt' is empty");
        return p->get<std::string>();
    }
    if (p->is_array()) {
        if (p->empty()) bad_param("prompt", "'prompt' is empty");
        return parse_token_ids(*p, "prompt", lim.n_vocab);
    }
    bad_param("prompt", "'prompt' must be a string or an array of token ids");
}

void check_prompt_fits(size_t n, const request_limits& lim, const std::string& param) {
    if (n == 0) bad_param(param, "the prompt is empty");
    if (n >= static_cast<size_t>(lim.n_ctx_slot))
        throw api_error(400,
                        fmt::format("the prompt has {} tokens but a slot's context holds {} (the server's -c is split "
                                    "evenly between its slots)",
                                    n, lim.n_ctx_slot),
                        "invalid_request_error", param, "context_length_exceeded");
}

}  // namespace lf::server
