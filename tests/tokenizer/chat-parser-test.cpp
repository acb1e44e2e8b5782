// Parsing Gemma 4 output: thinking channel, tool calls with the template's argument syntax,
// round trips through the renderer, and the streaming parser under every chunking.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "test-helpers.h"
#include "tokenizer/chat-parser.h"
#include "tokenizer/chat-template.h"

namespace lf {
namespace {

using nlohmann::json;

// Feeds `text` in the given chunk sizes and returns the accumulated deltas.
chat_parsed stream(std::string_view text, const std::vector<size_t>& cuts, bool in_reasoning = false) {
    gemma4_output_parser p(in_reasoning);
    chat_parsed acc;
    auto add = [&](const chat_delta& d) {
        acc.content += d.content;
        acc.reasoning_content += d.reasoning_content;
        acc.tool_calls.insert(acc.tool_calls.end(), d.tool_calls.begin(), d.tool_calls.end());
    };
    size_t pos = 0;
    for (size_t c : cuts) {
        if (c <= pos || c > text.size()) continue;
        add(p.push(text.substr(pos, c - pos)));
        pos = c;
    }
    add(p.push(text.substr(pos)));
    add(p.finish());
    EXPECT_EQ(acc.content, p.result().content);
    EXPECT_EQ(acc.reasoning_content, p.result().reasoning_content);
    EXPECT_EQ(acc.tool_calls, p.result().tool_calls);
    return acc;
}

void expect_same(const chat_parsed& a, const chat_parsed& b, const std::string& what) {
    EXPECT_EQ(a.content, b.content) << what;
    EXPECT_EQ(a.reasoning_content, b.reasoning_content) << what;
    EXPECT_EQ(a.tool_calls, b.tool_calls) << what;
}

// Every 2-way split, every 3-way split on short texts, and random chunkings.
void check_all_chunkings(std::string_view text, bool in_reasoning = false) {
    chat_parsed ref = parse_gemma4_output(text, in_reasoning);
    for (size_t i = 0; i <= text.size(); ++i) expect_same(stream(text, {i}, in_reasoning), ref, "cut at " + std::to_string(i));
    if (text.size() <= 120)
        for (size_t i = 0; i <= text.size(); ++i)
            for (size_t j = i; j <= text.size(); ++j) expect_same(stream(text, {i, j}, in_reasoning), ref, "cuts");
    std::mt19937 rng(42);
    for (int r = 0; r < 50; ++r) {
        std::vector<size_t> cuts;
        for (size_t p = 0; p < text.size();) {
            p += 1 + rng() % 4;
            cuts.push_back(p);
        }
        expect_same(stream(text, cuts, in_reasoning), ref, "random chunks");
    }
    std::vector<size_t> bytes;
    for (size_t p = 1; p < text.size(); ++p) bytes.push_back(p);
    expect_same(stream(text, bytes, in_reasoning), ref, "byte by byte");
}

TEST(chat_parser, plain_content) {
    chat_parsed r = parse_gemma4_output("Hello <b>world</b> a<b and <|\"|> stay");
    EXPECT_EQ(r.content, "Hello <b>world</b> a<b and <|\"|> stay");
    EXPECT_TRUE(r.reasoning_content.empty());
    EXPECT_TRUE(r.tool_calls.empty());
    EXPECT_EQ(parse_gemma4_output("Done.<turn|>").content, "Done.");
    EXPECT_EQ(parse_gemma4_output("Done.<eos>").content, "Done.");
    EXPECT_EQ(parse_gemma4_output("ends with <|tur").content, "ends with <|tur");
}

TEST(chat_parser, thinking_channel) {
    chat_parsed r = parse_gemma4_output("<|channel>thought\nFirst, 2+2.\nSo 4.\n<channel|>The answer is 4.");
    EXPECT_EQ(r.reasoning_content, "First, 2+2.\nSo 4.");
    EXPECT_EQ(r.content, "The answer is 4.");
    // Empty thought (the shape the generation prompt ends with when thinking is off).
    r = parse_gemma4_output("<|channel>thought\n<channel|>Hi");
    EXPECT_EQ(r.reasoning_content, "");
    EXPECT_EQ(r.content, "Hi");
    r = parse_gemma4_output("<|channel>thought<channel|>Hi");
    EXPECT_EQ(r.content, "Hi");
    // Started inside the channel by the prompt.
    r = parse_gemma4_output("thinking...\n<channel|>answer", true);
    EXPECT_EQ(r.reasoning_content, "thinking...");
    EXPECT_EQ(r.content, "answer");
    // Output cut inside the thought.
    r = parse_gemma4_output("<|channel>thought\nstill thinking\n");
    EXPECT_EQ(r.reasoning_content, "still thinking\n");
    EXPECT_EQ(r.content, "");
}

TEST(chat_parser, tool_calls) {
    chat_parsed r = parse_gemma4_output(
        "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,unit:<|\"|>C<|\"|>}<tool_call|>"
        "<|tool_call>call:get_time{tz:<|\"|>Europe/Paris<|\"|>}<tool_call|><|tool_response>");
    ASSERT_EQ(r.tool_calls.size(), 2u);
    EXPECT_EQ(r.tool_calls[0].name, "get_weather");
    EXPECT_EQ(r.tool_calls[0].arguments, json::parse(R"({"city": "Paris", "unit": "C"})"));
    EXPECT_EQ(r.tool_calls[1].name, "get_time");
    EXPECT_EQ(r.content, "");

    r = parse_gemma4_output(
        "Let me look.<|tool_call>call:f{a:1,b:-2.5,c:true,d:false,e:None,f:null,g:[1,[2,{h:<|\"|>x, y}<|\"|>}]],"
        "i:{},j:[],k:1e-05,l:<|\"|><|\"|>,<|\"|>quoted key<|\"|>:3,m:bare words}<tool_call|>");
    EXPECT_EQ(r.content, "Let me look.");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    EXPECT_EQ(r.tool_calls[0].arguments,
              json::parse(R"({"a": 1, "b": -2.5, "c": true, "d": false, "e": null, "f": null,
                  "g": [1, [2, {"h": "x, y}"}]], "i": {}, "j": [], "k": 1e-05, "l": "", "quoted key": 3,
                  "m": "bare words"})"));
    // A closing marker inside a quoted string does not end the call.
    r = parse_gemma4_output("<|tool_call>call:echo{text:<|\"|>say <tool_call|> now<|\"|>}<tool_call|>");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    EXPECT_EQ(r.tool_calls[0].arguments["text"], "say <tool_call|> now");
}

TEST(chat_parser, malformed_calls_become_content) {
    chat_parsed r = parse_gemma4_output("<|tool_call>nonsense<tool_call|>after");
    EXPECT_TRUE(r.tool_calls.empty());
    EXPECT_EQ(r.content, "<|tool_call>nonsense<tool_call|>after");
    r = parse_gemma4_output("<|tool_call>call:f{a:<|\"|>never closed}");
    EXPECT_TRUE(r.tool_calls.empty());
    EXPECT_EQ(r.content, "<|tool_call>call:f{a:<|\"|>never closed}");
    // Cut after a complete body but before the closing marker: still a call.
    r = parse_gemma4_output("<|tool_call>call:f{a:1}");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    EXPECT_EQ(r.tool_calls[0].arguments, json::parse(R"({"a": 1})"));
    EXPECT_THROW(parse_gemma4_arguments("{a:1"), lf::error);
    EXPECT_THROW(parse_gemma4_arguments("{a 1}"), lf::error);
    EXPECT_THROW(parse_gemma4_arguments("{a:1} x"), lf::error);
    EXPECT_THROW(parse_gemma4_tool_call("call:{a:1}"), lf::error);
}

TEST(chat_parser, streaming_equals_one_shot_for_any_chunking) {
    for (std::string text : {
             std::string("<|channel>thought\nStep 1.\nStep 2.\n<channel|>Result: 42."),
             std::string("Hi <|tool_call>call:f{x:<|\"|>a,b<|\"|>,y:[1,2]}<tool_call|><|tool_response>"),
             std::string("<|channel>thought\nplan\n<channel|><|tool_call>call:g{}<tool_call|>tail<turn|>"),
             std::string("a < b <| c <|chan d <tool_call| e"),
             std::string("<|tool_call>call:h{s:<|\"|><tool_call|><|\"|>}<tool_call|>"),
             std::string("<|channel>not a name line because spaces\nstill reasoning<channel|>x"),
             std::string("<|tool_call>call:broken{<tool_call|>"),
         }) {
        SCOPED_TRACE(text);
        check_all_chunkings(text);
    }
    check_all_chunkings("inside\n\nthe channel\n<channel|>out", true);
}

TEST(chat_parser, random_marker_soup_streams_consistently) {
    // Texts assembled from markers, their fragments and argument syntax: whatever the parse, every
    // chunking must give the same result and nothing may throw.
    const std::vector<std::string> parts = {
        "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|\"|>", "<turn|>", "<|tool_response>", "<eos>",
        "<|chan", "nel>", "<tool_", "call|>", "<|\"", "|>", "<", "|", ">", "thought\n", "call:f", "{", "}", "[", "]",
        ":", ",", "a", "x y", "\n", "1.5", "None", "true", "日本", "🙂"};
    std::mt19937 rng(123);
    for (int round = 0; round < 300; ++round) {
        std::string text;
        int n = 1 + static_cast<int>(rng() % 14);
        for (int k = 0; k < n; ++k) text += parts[rng() % parts.size()];
        SCOPED_TRACE(text);
        chat_parsed ref;
        ASSERT_NO_THROW(ref = parse_gemma4_output(text));
        for (int r = 0; r < 8; ++r) {
            std::vector<size_t> cuts;
            for (size_t p = 0; p < text.size();) {
                p += 1 + rng() % 5;
                cuts.push_back(p);
            }
            expect_same(stream(text, cuts), ref, "random chunks");
        }
    }
}

// Renders an assistant turn with the template code and parses it back.
TEST(chat_parser, round_trips_what_the_template_renders) {
    json args_list = json::array({
        json::parse(R"({"city": "Paris"})"),
        json::parse(R"({"n": 2, "x": 1.5, "tiny": 1e-05, "big": 1e16, "whole": 3.0, "neg": -7, "t": true,
                        "f": false, "z": null})"),
        json::parse(R"({"legs": [{"from": "OSL", "to": "CDG"}, {"from": "CDG", "to": "OSL", "stops": []}],
                        "matrix": [[1, 2], [3, [4, {"deep": "yes"}]]], "empty": {}, "s": "commas, colons: {braces} [x]",
                        "unicode": "日本語 🙂", "nl": "line1\nline2"})"),
        json::object(),
    });
    json cases = test::read_json(test::data_path("chat/chat_cases.json"));
    for (const json& c : cases)
        for (const json& m : c["messages"])
            if (m.contains("tool_calls"))
                for (const json& tc : m["tool_calls"])
                    // Strings that contain the quote marker itself cannot round-trip (the format has no escape).
                    if (tc["function"]["arguments"].is_object() &&
                        tc["function"]["arguments"].dump().find("<|\\\"|>") == std::string::npos)
                        args_list.push_back(tc["function"]["arguments"]);
    ASSERT_GE(args_list.size(), 8u);

    for (bool with_reasoning : {false, true}) {
        for (const json& args : args_list) {
            json messages = json::array();
            messages.push_back({{"role", "user"}, {"content", "go"}});
            json assistant = {{"role", "assistant"},
                              {"tool_calls", json::array({{{"id", "1"}, {"type", "function"},
                                                           {"function", {{"name", "fn_a"}, {"arguments", args}}}},
                                                          {{"id", "2"}, {"type", "function"},
                                                           {"function", {{"name", "fn_b"}, {"arguments", {{"k", 1}}}}}}})}};
            if (with_reasoning) assistant["reasoning_content"] = "I will call two tools.\nThen answer.";
            messages.push_back(assistant);
            chat_template_options opt;
            opt.add_generation_prompt = false;
            std::string prompt = render_gemma4_chat(messages, nullptr, opt);
            std::string model_part = prompt.substr(prompt.rfind("<|turn>model\n") + 13);
            SCOPED_TRACE(model_part);
            chat_parsed r = parse_gemma4_output(model_part);
            ASSERT_EQ(r.tool_calls.size(), 2u);
            EXPECT_EQ(r.tool_calls[0].name, "fn_a");
            EXPECT_EQ(r.tool_calls[0].arguments, args);
            EXPECT_EQ(r.tool_calls[1].arguments, json::parse(R"({"k": 1})"));
            EXPECT_EQ(r.reasoning_content, with_reasoning ? "I will call two tools.\nThen answer." : "");
            EXPECT_EQ(r.content, "");
            check_all_chunkings(model_part);
        }
    }
}

}  // namespace
}  // namespace lf
