// Response objects: the chat stream under any chunking of the model text (one speculative step
// can emit several tokens that cross the reasoning and tool-call markers) adds up to the same
// message as the non-streamed response; chunk shapes, finish reasons, usage and timings.
#include <gtest/gtest.h>

#include <random>

#include "server/response-format.h"

namespace lf::server {
namespace {

using json = nlohmann::json;

gen_stats some_stats() {
    gen_stats st;
    st.n_prompt = 12;
    st.n_gen = 30;
    st.n_drafted = 20;
    st.n_accepted = 11;
    st.t_prompt_ms = 4.0;
    st.t_gen_ms = 60.0;
    return st;
}

struct accumulated {
    std::string role, content, reasoning;
    std::vector<json> tool_calls;  // merged by index
    std::string finish_reason;
    json usage, timings;
    int n_chunks = 0;
};

// What an OpenAI client rebuilds from the chunks.
accumulated accumulate(const std::vector<json>& chunks) {
    accumulated a;
    for (const json& c : chunks) {
        a.n_chunks++;
        EXPECT_EQ(c["object"], "chat.completion.chunk");
        if (c.contains("usage")) a.usage = c["usage"];
        if (c.contains("timings")) a.timings = c["timings"];
        for (const json& ch : c["choices"]) {
            const json& d = ch["delta"];
            if (d.contains("role")) a.role = d["role"];
            if (d.contains("content") && d["content"].is_string()) a.content += d["content"].get<std::string>();
            if (d.contains("reasoning_content")) a.reasoning += d["reasoning_content"].get<std::string>();
            if (d.contains("tool_calls"))
                for (const json& tc : d["tool_calls"]) {
                    size_t i = tc["index"];
                    if (a.tool_calls.size() <= i) a.tool_calls.resize(i + 1, json::object());
                    json& t = a.tool_calls[i];
                    if (tc.contains("id")) t["id"] = tc["id"];
                    if (tc["function"].contains("name")) t["name"] = tc["function"]["name"];
                    t["arguments"] = t.value("arguments", std::string()) + tc["function"].value("arguments", std::string());
                }
            if (!ch["finish_reason"].is_null()) a.finish_reason = ch["finish_reason"];
        }
    }
    return a;
}

std::vector<json> stream_chat(const std::string& text, const std::vector<size_t>& cuts, const std::string& reason) {
    auto f = make_chat_completion_format({"m", false});
    std::vector<json> out;
    size_t pos = 0;
    auto add = [&](std::vector<json> v) { out.insert(out.end(), v.begin(), v.end()); };
    for (size_t c : cuts) {
        if (c <= pos || c > text.size()) continue;
        add(f->delta(text.substr(pos, c - pos), {}));
        pos = c;
    }
    add(f->delta(text.substr(pos), {}));
    add(f->finish(some_stats(), reason, true));
    return out;
}

const char* k_tool_text =
    "<|channel>thought\nThe user wants weather.<channel|>Let me check."
    "<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,days:3}<tool_call|>"
    "<|tool_call>call:get_time{zone:<|\"|>CET<|\"|>}<tool_call|>";

TEST(chat_format, whole_response_splits_reasoning_content_and_tool_calls) {
    auto f = make_chat_completion_format({"m", true});
    json r = f->whole(k_tool_text, {5, 6}, some_stats(), "stop");
    EXPECT_EQ(r["object"], "chat.completion");
    const json& choice = r["choices"][0];
    EXPECT_EQ(choice["finish_reason"], "tool_calls");
    EXPECT_EQ(f->reported_reason(), "tool_calls");
    const json& msg = choice["message"];
    EXPECT_EQ(msg["role"], "assistant");
    EXPECT_EQ(msg["content"], "Let me check.");
    EXPECT_EQ(msg["reasoning_content"], "The user wants weather.");
    ASSERT_EQ(msg["tool_calls"].size(), 2u);
    const json& tc = msg["tool_calls"][0];
    EXPECT_EQ(tc["type"], "function");
    EXPECT_EQ(tc["id"].get<std::string>().rfind("call_", 0), 0u);
    EXPECT_EQ(tc["function"]["name"], "get_weather");
    EXPECT_EQ(json::parse(tc["function"]["arguments"].get<std::string>()), json({{"city", "Paris"}, {"days", 3}}));
    EXPECT_EQ(choice["token_ids"], json({5, 6}));
    EXPECT_EQ(r["usage"]["total_tokens"], 42);
    EXPECT_EQ(r["timings"]["draft_n_accepted"], 11);
}

TEST(chat_format, length_is_not_reported_as_tool_calls) {
    auto f = make_chat_completion_format({"m", false});
    json r = f->whole("plain text", {}, some_stats(), "length");
    EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(r["choices"][0]["message"]["content"], "plain text");
    EXPECT_FALSE(r["choices"][0]["message"].contains("tool_calls"));
}

TEST(chat_format, stream_equals_whole_under_every_chunking) {
    const std::string text = k_tool_text;
    auto ref_f = make_chat_completion_format({"m", false});
    json ref = ref_f->whole(text, {}, some_stats(), "stop")["choices"][0]["message"];
    auto check = [&](const std::vector<size_t>& cuts) {
        accumulated a = accumulate(stream_chat(text, cuts, "stop"));
        EXPECT_EQ(a.role, "assistant");
        EXPECT_EQ(a.content, ref["content"].get<std::string>());
        EXPECT_EQ(a.reasoning, ref["reasoning_content"].get<std::string>());
        ASSERT_EQ(a.tool_calls.size(), ref["tool_calls"].size());
        for (size_t i = 0; i < a.tool_calls.size(); ++i) {
            EXPECT_EQ(a.tool_calls[i]["name"], ref["tool_calls"][i]["function"]["name"]);
            EXPECT_EQ(json::parse(a.tool_calls[i]["arguments"].get<std::string>()),
                      json::parse(ref["tool_calls"][i]["function"]["arguments"].get<std::string>()));
        }
        EXPECT_EQ(a.finish_reason, "tool_calls");
        EXPECT_EQ(a.usage["completion_tokens"], 30);
        EXPECT_EQ(a.timings["draft_n"], 20);
    };
    for (size_t i = 0; i <= text.size(); ++i) check({i});
    // Multi-token steps: random chunks of 1..24 bytes cross every marker somewhere.
    std::mt19937 rng(3);
    for (int r = 0; r < 200; ++r) {
        std::vector<size_t> cuts;
        for (size_t p = 0; p < text.size();) cuts.push_back(p += 1 + rng() % 24);
        check(cuts);
    }
}

TEST(chat_format, stream_shape) {
    std::vector<json> chunks = stream_chat("Hello there", {3}, "length");
    ASSERT_GE(chunks.size(), 3u);
    // First: the role, as OpenAI sends it.
    EXPECT_EQ(chunks.front()["choices"][0]["delta"]["role"], "assistant");
    // Every chunk shares one id; the usage chunk has no choices and comes last.
    for (const json& c : chunks) EXPECT_EQ(c["id"], chunks.front()["id"]);
    EXPECT_TRUE(chunks.back()["choices"].empty());
    EXPECT_EQ(chunks.back()["usage"]["prompt_tokens"], 12);
    const json& last = chunks[chunks.size() - 2];
    EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
    EXPECT_TRUE(last["choices"][0]["delta"].empty());
    EXPECT_TRUE(last.contains("timings"));
}

TEST(text_format, whole_and_stream) {
    auto f = make_text_completion_format({"m", true});
    json r = f->whole("some text", {1, 2, 3}, some_stats(), "stop");
    EXPECT_EQ(r["object"], "text_completion");
    EXPECT_EQ(r["choices"][0]["text"], "some text");
    EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
    EXPECT_EQ(r["choices"][0]["token_ids"], json({1, 2, 3}));
    EXPECT_EQ(r["timings"]["prompt_n"], 12);
    EXPECT_DOUBLE_EQ(r["timings"]["predicted_per_second"].get<double>(), 500.0);

    auto s = make_text_completion_format({"m", false});
    EXPECT_TRUE(s->delta("", {}).empty());
    std::vector<json> d = s->delta("abc", {4});
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(d[0]["choices"][0]["text"], "abc");
    EXPECT_TRUE(d[0]["choices"][0]["finish_reason"].is_null());
    std::vector<json> fin = s->finish(some_stats(), "length", false);
    ASSERT_EQ(fin.size(), 1u);
    EXPECT_EQ(fin[0]["choices"][0]["finish_reason"], "length");
}

TEST(timings, llama_cpp_fields) {
    json t = timings_json(some_stats());
    for (const char* k : {"prompt_n", "prompt_ms", "prompt_per_second", "predicted_n", "predicted_ms",
                          "predicted_per_second", "draft_n", "draft_n_accepted"})
        EXPECT_TRUE(t.contains(k)) << k;
    EXPECT_DOUBLE_EQ(t["prompt_per_second"].get<double>(), 3000.0);
}

}  // namespace
}  // namespace lf::server
