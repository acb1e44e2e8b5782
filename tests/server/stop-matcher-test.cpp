// Stop sequences on streamed text: what is emitted under any chunking equals the text cut at the
// first stop string, and nothing that could still become a stop string leaks early.
#include <gtest/gtest.h>

#include <random>

#include "server/stop-matcher.h"

namespace lf::server {
namespace {

// The reference: input cut before the earliest occurrence of any stop string.
std::string cut_at_stop(const std::string& text, const std::vector<std::string>& stops) {
    size_t best = std::string::npos;
    for (const auto& s : stops) {
        if (s.empty()) continue;
        size_t at = text.find(s);
        if (at < best) best = at;
    }
    return best == std::string::npos ? text : text.substr(0, best);
}

std::string run(const std::string& text, const std::vector<std::string>& stops, const std::vector<size_t>& cuts) {
    stop_matcher m(stops);
    std::string out;
    size_t pos = 0;
    for (size_t c : cuts) {
        if (c <= pos || c > text.size()) continue;
        out += m.push(text.substr(pos, c - pos));
        pos = c;
    }
    out += m.push(text.substr(pos));
    out += m.flush();
    return out;
}

TEST(stop_matcher, no_stops_passes_everything_through) {
    stop_matcher m;
    EXPECT_EQ(m.push("hello "), "hello ");
    EXPECT_EQ(m.push("world"), "world");
    EXPECT_EQ(m.flush(), "");
    EXPECT_FALSE(m.stopped());
}

TEST(stop_matcher, holds_back_a_possible_prefix) {
    stop_matcher m({"STOP"});
    EXPECT_EQ(m.push("abc ST"), "abc ");
    EXPECT_EQ(m.n_held(), 2u);
    EXPECT_EQ(m.push("X"), "STX");  // not a stop after all
    EXPECT_EQ(m.push("S"), "");
    EXPECT_EQ(m.push("TO"), "");
    EXPECT_EQ(m.push("P tail"), "");
    EXPECT_TRUE(m.stopped());
    EXPECT_EQ(m.matched(), "STOP");
    EXPECT_EQ(m.push("more"), "");
    EXPECT_EQ(m.flush(), "");
}

TEST(stop_matcher, flush_releases_an_unfinished_prefix) {
    stop_matcher m({"\n\n"});
    EXPECT_EQ(m.push("line\n"), "line");
    EXPECT_EQ(m.flush(), "\n");
    EXPECT_FALSE(m.stopped());
}

TEST(stop_matcher, earliest_stop_wins_then_longest) {
    stop_matcher m({"world", "lo w", "lo"});
    EXPECT_EQ(m.push("hello world"), "hel");
    EXPECT_EQ(m.matched(), "lo w");
}

TEST(stop_matcher, stop_inside_one_chunk_of_many_tokens) {
    // One speculative step can bring several tokens; the stop may sit in the middle.
    stop_matcher m({"END"});
    EXPECT_EQ(m.push("first part EN"), "first part ");
    EXPECT_EQ(m.push("D and text after the stop"), "");
    EXPECT_TRUE(m.stopped());
}

TEST(stop_matcher, multibyte_text_is_never_split) {
    stop_matcher m({"é!"});
    std::string out = m.push("café");  // "é" could start "é!"
    EXPECT_EQ(out, "caf");
    out += m.push("?");
    EXPECT_EQ(out, "café?");
}

TEST(stop_matcher, every_chunking_equals_the_reference) {
    const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
        {"The answer is 42.\n\nUser: next question", {"\n\nUser:", "Assistant:"}},
        {"aaaaab aab ab", {"aab", "b a"}},
        {"no stop string occurs here", {"xyz", "zz"}},
        {"<|tool_call>call:f{}<tool_call|> trailing", {"<tool_call|>"}},
        {"ünïcödé stop ünï", {"ï", "stop"}},
        {"overlap abcabcabd", {"abcabd"}},
    };
    std::mt19937 rng(7);
    for (const auto& [text, stops] : cases) {
        const std::string ref = cut_at_stop(text, stops);
        for (size_t i = 0; i <= text.size(); ++i)
            for (size_t j = i; j <= text.size(); ++j) EXPECT_EQ(run(text, stops, {i, j}), ref) << text << " cuts " << i << "," << j;
        for (int r = 0; r < 50; ++r) {
            std::vector<size_t> cuts;
            for (size_t p = 0; p < text.size();) cuts.push_back(p += 1 + rng() % 5);
            EXPECT_EQ(run(text, stops, cuts), ref) << text;
        }
    }
}

}  // namespace
}  // namespace lf::server
