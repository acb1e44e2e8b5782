// Gemma 4 chat rendering against the official template: tests/data/chat/chat_cases.json holds
// messages, options and the string jinja2 renders in transformers' environment
// (make_chat_cases.py; checked equal to transformers 5.17's apply_chat_template). Also the cases
// where the template would raise, Python number spelling, and the OpenAI argument normalization.
#include <gtest/gtest.h>

#include <set>

#include "core/error.h"
#include "test-helpers.h"
#include "tokenizer/chat-template.h"

namespace lf {
namespace {

using nlohmann::json;

TEST(chat_template, matches_reference_strings) {
    json cases = test::read_json(test::data_path("chat/chat_cases.json"));
    ASSERT_GE(cases.size(), 30u);
    std::set<std::string> names;
    for (const json& c : cases) {
        chat_template_options opt;
        opt.add_generation_prompt = c["add_generation_prompt"].get<bool>();
        opt.enable_thinking = c["enable_thinking"].get<bool>();
        std::string got = render_gemma4_chat(c["messages"], c["tools"], opt);
        EXPECT_EQ(got, c["expected"].get<std::string>()) << "case " << c["name"].get<std::string>();
        names.insert(c["name"].get<std::string>());
    }
    // The cases the acceptance list names are all there.
    for (const char* n : {"single_user", "system_user", "multi_turn", "no_generation_prompt", "thinking_on",
                          "tools_declared", "tool_call_then_result", "unicode", "multiple_tool_calls",
                          "nested_arguments", "content_parts", "reasoning_stripped", "tool_result_parts"})
        EXPECT_TRUE(names.count(n)) << n;
}

TEST(chat_template, where_the_template_would_raise) {
    json tools = json::parse(R"([{"type": "function", "function": {"name": "get_weather", "description": "d",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}])");
    // A tool result given as an object renders as the mapping form of the response block.
    json messages = json::parse(R"([{"role": "user", "content": "w?"},
        {"role": "assistant", "tool_calls": [{"id": "1", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
        {"role": "tool", "tool_call_id": "1", "content": {"temp": -3, "sky": "snow"}}])");
    std::string out = render_gemma4_chat(messages, tools, {});
    EXPECT_NE(out.find("<|tool_response>response:get_weather{sky:<|\"|>snow<|\"|>,temp:-3}<tool_response|>"),
              std::string::npos)
        << out;
    // No id match and no name: "unknown".
    messages[2] = json::parse(R"({"role": "tool", "tool_call_id": "zzz", "content": "x"})");
    out = render_gemma4_chat(messages, tools, {});
    EXPECT_NE(out.find("response:unknown{value:<|\"|>x<|\"|>}"), std::string::npos) << out;
    // System content as parts.
    json sys = json::parse(R"([{"role": "system", "content": [{"type": "text", "text": " Be brief. "}]},
        {"role": "user", "content": "hi"}])");
    EXPECT_EQ(render_gemma4_chat(sys, nullptr, {}),
              "<bos><|turn>system\nBe brief.<turn|>\n<|turn>user\nhi<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
}

TEST(chat_template, rejects_malformed_input) {
    chat_template_options opt;
    EXPECT_THROW(render_gemma4_chat(json::object(), nullptr, opt), lf::error);
    EXPECT_THROW(render_gemma4_chat(json::parse(R"([{"content": "x"}])"), nullptr, opt), lf::error);
    EXPECT_THROW(render_gemma4_chat(json::parse(R"([1])"), nullptr, opt), lf::error);
    EXPECT_THROW(render_gemma4_chat(json::parse(R"([{"role": "user", "content": "x"}])"),
                                    json::parse(R"([{"type": "function"}])"), opt),
                 lf::error);
    EXPECT_THROW(render_gemma4_chat(json::parse(R"([{"role": "assistant", "tool_calls": {"a": 1}}])"), nullptr, opt),
                 lf::error);
    // An empty conversation is just <bos> and the generation prompt.
    EXPECT_EQ(render_gemma4_chat(json::array(), nullptr, opt), "<bos><|turn>model\n<|channel>thought\n<channel|>");
}

TEST(chat_template, python_float_spelling) {
    EXPECT_EQ(py_float_repr(1e-05), "1e-05");
    EXPECT_EQ(py_float_repr(0.0001), "0.0001");
    EXPECT_EQ(py_float_repr(1e16), "1e+16");
    EXPECT_EQ(py_float_repr(1e15), "1000000000000000.0");
    EXPECT_EQ(py_float_repr(3.0), "3.0");
    EXPECT_EQ(py_float_repr(-2.5), "-2.5");
    EXPECT_EQ(py_float_repr(0.1), "0.1");
    EXPECT_EQ(py_float_repr(1234.5678), "1234.5678");
    EXPECT_EQ(py_float_repr(1.5e300), "1.5e+300");
    EXPECT_EQ(py_float_repr(-0.0), "-0.0");
    EXPECT_EQ(py_float_repr(123456789012345680.0), "1.2345678901234568e+17");
    EXPECT_EQ(py_float_repr(2.5e-7), "2.5e-07");
}

TEST(chat_template, openai_string_arguments_become_objects) {
    json messages = json::parse(R"([{"role": "user", "content": "w?"},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "f", "arguments": "{\"city\": \"Oslo\", \"n\": 2}"}},
            {"id": "b", "type": "function", "function": {"name": "g", "arguments": ""}},
            {"id": "c", "type": "function", "function": {"name": "h", "arguments": "not json"}}]}])");
    json norm = normalize_openai_messages(messages);
    EXPECT_EQ(norm[1]["tool_calls"][0]["function"]["arguments"], json::parse(R"({"city": "Oslo", "n": 2})"));
    EXPECT_EQ(norm[1]["tool_calls"][1]["function"]["arguments"], json::object());
    EXPECT_EQ(norm[1]["tool_calls"][2]["function"]["arguments"], "not json");
    std::string out = render_gemma4_chat(norm, nullptr, {});
    EXPECT_NE(out.find("<|tool_call>call:f{city:<|\"|>Oslo<|\"|>,n:2}<tool_call|><|tool_call>call:g{}<tool_call|>"
                       "<|tool_call>call:h{not json}<tool_call|><|tool_response>"),
              std::string::npos)
        << out;
}

TEST(chat_template, recognizes_the_gemma4_template) {
    EXPECT_TRUE(is_gemma4_chat_template("{{ '<|turn>' + role }} ... {{ '<turn|>' }}"));
    EXPECT_FALSE(is_gemma4_chat_template("{{ '<start_of_turn>' + role }}"));
}

}  // namespace
}  // namespace lf
