// Request validation: every field is type- and range-checked with a 400 naming the field; valid
// requests map onto sampling, length, stop and speculative parameters.
#include <gtest/gtest.h>

#include "server/api-error.h"
#include "server/request-parse.h"

namespace lf::server {
namespace {

using json = nlohmann::json;

request_limits limits() {
    request_limits l;
    l.n_ctx_slot = 256;
    l.n_vocab = 1000;
    l.max_draft = 8;
    l.has_head = true;
    l.has_tokenizer = true;
    l.spec.draft_max = 3;
    return l;
}

// The status and param of the api_error a body produces, or {0, ""} when it parses.
std::pair<int, std::string> reject(const json& body) {
    try {
        parse_gen_options(body, limits(), 16);
        parse_prompt(body, limits());
    } catch (const api_error& e) {
        return {e.status, e.param};
    }
    return {0, ""};
}

TEST(request_parse, body_must_be_a_json_object) {
    EXPECT_THROW(parse_body("{"), api_error);
    EXPECT_THROW(parse_body("[1, 2]"), api_error);
    EXPECT_THROW(parse_body("\"text\""), api_error);
    EXPECT_THROW(parse_body(""), api_error);
    EXPECT_EQ(parse_body("{\"a\": 1}")["a"], 1);
}

TEST(request_parse, nesting_depth_is_bounded) {
    auto nested = [](int n) { return std::string(n, '[') + std::string(n, ']'); };
    EXPECT_NO_THROW(parse_body("{\"a\": " + nested(127) + "}"));
    EXPECT_THROW(parse_body("{\"a\": " + nested(128) + "}"), api_error);
    // Brackets inside strings (also after escaped quotes) do not count.
    EXPECT_NO_THROW(parse_body("{\"a\": \"\\\"" + nested(500) + "\"}"));
}

TEST(request_parse, defaults_and_values) {
    gen_options o = parse_gen_options(json::object(), limits(), 16);
    EXPECT_EQ(o.max_tokens, 16);
    EXPECT_FLOAT_EQ(o.sampling.temperature, 1.0f);
    EXPECT_FALSE(o.stream);
    EXPECT_TRUE(o.spec.enabled);
    EXPECT_EQ(o.spec.draft_max, 3);

    json b = {{"temperature", 0},       {"top_p", 0.9},          {"top_k", 40},
              {"min_p", 0.05},          {"seed", 1234},          {"presence_penalty", 0.5},
              {"frequency_penalty", -1}, {"logit_bias", {{"17", -100}, {"3", 2.5}}},
              {"max_tokens", 7},        {"stop", {"a", "bb"}},   {"stream", true},
              {"stream_options", {{"include_usage", true}}}, {"ignore_eos", true},
              {"speculative", {{"enabled", true}, {"draft_max", 5}, {"draft_p_min", 0.25}}}};
    o = parse_gen_options(b, limits(), 16);
    EXPECT_FLOAT_EQ(o.sampling.temperature, 0.0f);
    EXPECT_FLOAT_EQ(o.sampling.top_p, 0.9f);
    EXPECT_EQ(o.sampling.top_k, 40);
    EXPECT_FLOAT_EQ(o.sampling.min_p, 0.05f);
    EXPECT_EQ(o.sampling.seed, 1234u);
    EXPECT_FLOAT_EQ(o.sampling.presence_penalty, 0.5f);
    EXPECT_FLOAT_EQ(o.sampling.frequency_penalty, -1.0f);
    ASSERT_EQ(o.sampling.logit_bias.size(), 2u);
    EXPECT_EQ(o.max_tokens, 7);
    EXPECT_EQ(o.stop, (std::vector<std::string>{"a", "bb"}));
    EXPECT_TRUE(o.stream);
    EXPECT_TRUE(o.include_usage);
    EXPECT_TRUE(o.ignore_eos);
    EXPECT_TRUE(o.spec.enabled);
    EXPECT_EQ(o.spec.draft_max, 5);
    EXPECT_FLOAT_EQ(o.spec.draft_p_min, 0.25f);
}

TEST(request_parse, length_field_precedence) {
    EXPECT_EQ(parse_gen_options({{"n_predict", -1}}, limits(), 16).max_tokens, -1);
    EXPECT_EQ(parse_gen_options({{"max_tokens", 5}, {"max_completion_tokens", 9}}, limits(), 16).max_tokens, 9);
    EXPECT_EQ(parse_gen_options({{"max_tokens", nullptr}}, limits(), 16).max_tokens, 16);
}

TEST(request_parse, speculation_off_without_a_head_or_when_asked) {
    request_limits l = limits();
    EXPECT_FALSE(parse_gen_options({{"speculative", {{"enabled", false}}}}, l, 16).spec.enabled);
    l.has_head = false;
    EXPECT_FALSE(parse_gen_options({{"speculative", {{"enabled", true}}}}, l, 16).spec.enabled);
}

TEST(request_parse, prompt_forms) {
    auto p = parse_prompt({{"prompt", "hello"}}, limits());
    EXPECT_EQ(std::get<std::string>(p), "hello");
    p = parse_prompt({{"prompt", {2, 5, 7}}}, limits());
    EXPECT_EQ(std::get<std::vector<int32_t>>(p), (std::vector<int32_t>{2, 5, 7}));
    p = parse_prompt({{"prompt", {"only one"}}}, limits());
    EXPECT_EQ(std::get<std::string>(p), "only one");
    p = parse_prompt({{"prompt", json::array({json::array({4, 5})})}}, limits());
    EXPECT_EQ(std::get<std::vector<int32_t>>(p), (std::vector<int32_t>{4, 5}));
}

TEST(request_parse, every_bad_field_is_a_400_naming_it) {
    const std::vector<std::pair<json, std::string>> bad = {
        {{{"prompt", "x"}, {"temperature", "hot"}}, "temperature"},
        {{{"prompt", "x"}, {"temperature", -0.1}}, "temperature"},
        {{{"prompt", "x"}, {"temperature", 2.5}}, "temperature"},
        {{{"prompt", "x"}, {"top_p", 1.5}}, "top_p"},
        {{{"prompt", "x"}, {"top_k", -1}}, "top_k"},
        {{{"prompt", "x"}, {"top_k", 2.5}}, "top_k"},
        {{{"prompt", "x"}, {"min_p", true}}, "min_p"},
        {{{"prompt", "x"}, {"seed", "42"}}, "seed"},
        {{{"prompt", "x"}, {"max_tokens", -5}}, "max_tokens"},
        {{{"prompt", "x"}, {"max_tokens", 1e30}}, "max_tokens"},
        {{{"prompt", "x"}, {"max_completion_tokens", "ten"}}, "max_completion_tokens"},
        {{{"prompt", "x"}, {"presence_penalty", 3}}, "presence_penalty"},
        {{{"prompt", "x"}, {"frequency_penalty", -3}}, "frequency_penalty"},
        {{{"prompt", "x"}, {"logit_bias", {1, 2}}}, "logit_bias"},
        {{{"prompt", "x"}, {"logit_bias", {{"abc", 1}}}}, "logit_bias"},
        {{{"prompt", "x"}, {"logit_bias", {{"5000", 1}}}}, "logit_bias"},
        {{{"prompt", "x"}, {"logit_bias", {{"5", 500}}}}, "logit_bias"},
        {{{"prompt", "x"}, {"stop", 5}}, "stop"},
        {{{"prompt", "x"}, {"stop", {"a", 5}}}, "stop"},
        {{{"prompt", "x"}, {"stream", "yes"}}, "stream"},
        {{{"prompt", "x"}, {"stream_options", {{"include_usage", true}}}}, "stream_options"},
        {{{"prompt", "x"}, {"n", 2}}, "n"},
        {{{"prompt", "x"}, {"logprobs", true}}, "logprobs"},
        {{{"prompt", "x"}, {"echo", true}}, "echo"},
        {{{"prompt", "x"}, {"best_of", 3}}, "best_of"},
        {{{"prompt", "x"}, {"suffix", "end"}}, "suffix"},
        {{{"prompt", "x"}, {"response_format", {{"type", "json_object"}}}}, "response_format"},
        {{{"prompt", "x"}, {"speculative", true}}, "speculative"},
        {{{"prompt", "x"}, {"speculative", {{"draft_max", 99}}}}, "speculative"},
        {{{"prompt", "x"}, {"speculative", {{"enabled", "on"}}}}, "speculative"},
        {{{"prompt", "x"}, {"speculative", {{"draft_p_min", 2}}}}, "speculative"},
        {{{"prompt", "x"}, {"speculative", {{"bogus", 1}}}}, "speculative"},
        {{{"prompt", "x"}, {"ignore_eos", 1}}, "ignore_eos"},
        {{{"prompt", 5}}, "prompt"},
        {{{"prompt", ""}}, "prompt"},
        {{{"prompt", json::array()}}, "prompt"},
        {{{"prompt", {"a", "b"}}}, "prompt"},
        {{{"prompt", {1, -2}}}, "prompt"},
        {{{"prompt", {1, 1000}}}, "prompt"},
        {{{"prompt", {1, "2"}}}, "prompt"},
        {json::object(), "prompt"},
    };
    for (const auto& [body, param] : bad) {
        auto [status, got] = reject(body);
        EXPECT_EQ(status, 400) << body.dump();
        EXPECT_EQ(got, param) << body.dump();
    }
}

TEST(request_parse, prompt_must_fit_a_slot) {
    EXPECT_NO_THROW(check_prompt_fits(255, limits(), "prompt"));
    try {
        check_prompt_fits(256, limits(), "prompt");
        FAIL() << "a prompt as long as the slot was accepted";
    } catch (const api_error& e) {
        EXPECT_EQ(e.status, 400);
        EXPECT_EQ(e.code, "context_length_exceeded");
    }
}

TEST(request_parse, text_needs_a_tokenizer) {
    request_limits l = limits();
    l.has_tokenizer = false;
    EXPECT_THROW(parse_prompt({{"prompt", "text"}}, l), api_error);
    EXPECT_THROW(parse_gen_options({{"stop", "x"}}, l, 16), api_error);
    EXPECT_NO_THROW(parse_prompt({{"prompt", {1, 2}}}, l));
}

TEST(request_parse, error_body_has_the_openai_shape) {
    json b = error_body(api_error(400, "bad thing", "invalid_request_error", "top_p", "bad_value"));
    EXPECT_EQ(b["error"]["message"], "bad thing");
    EXPECT_EQ(b["error"]["type"], "invalid_request_error");
    EXPECT_EQ(b["error"]["param"], "top_p");
    EXPECT_EQ(b["error"]["code"], "bad_value");
    json n = error_body(api_error(500, "x", "server_error"));
    EXPECT_TRUE(n["error"]["param"].is_null());
    EXPECT_TRUE(n["error"]["code"].is_null());
}

}  // namespace
}  // namespace lf::server
