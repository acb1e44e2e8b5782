// The engine → HTTP bridge, driven through the callbacks it installs (as the engine thread
// would call them): text is whole UTF-8, stop strings end the request at once and hide what
// follows, abandoning stops the engine, and the result arrives with the right finish reason.
#include <gtest/gtest.h>

#include "server/gen-stream.h"
#include "tokenizer/vocab-hf.h"

namespace lf::server {
namespace {

using namespace std::chrono_literals;

const tokenizer& tiny_tokenizer() {
    static tokenizer tok(vocab_from_hf_dir(std::string(LF_TEST_DATA) + "/tiny-gemma4/target"));
    return tok;
}

std::vector<int32_t> ids_of(const std::string& text) { return tiny_tokenizer().tokenize(text, false, false); }

gen_result done_with(const std::string& reason, const std::vector<int32_t>& tokens) {
    gen_result r;
    r.finish_reason = reason;
    r.tokens = tokens;
    r.stats.n_gen = static_cast<int>(tokens.size());
    return r;
}

TEST(gen_stream, text_flows_and_ends) {
    auto gs = std::make_shared<gen_stream>(&tiny_tokenizer(), std::vector<std::string>{});
    gen_request r;
    gs->attach(r);
    std::vector<int32_t> ids = ids_of("The man said hello.");
    ASSERT_GT(ids.size(), 3u);
    EXPECT_TRUE(r.on_tokens({ids.begin(), ids.begin() + 2}));
    EXPECT_TRUE(r.on_tokens({ids.begin() + 2, ids.end()}));
    r.on_done(done_with("length", ids));
    std::string text;
    std::vector<int32_t> got;
    for (;;) {
        auto n = gs->wait(10ms);
        text += n.text;
        got.insert(got.end(), n.tokens.begin(), n.tokens.end());
        if (n.done) break;
    }
    EXPECT_EQ(text, "The man said hello.");
    EXPECT_EQ(got, ids);
    EXPECT_EQ(gs->finish_reason(), "length");
}

TEST(gen_stream, stop_string_inside_a_multi_token_step) {
    auto gs = std::make_shared<gen_stream>(&tiny_tokenizer(), std::vector<std::string>{" said"});
    gen_request r;
    gs->attach(r);
    std::vector<int32_t> ids = ids_of("The man said hello and more text");
    // All at once, as one speculative step could deliver them: the engine must be told to stop.
    EXPECT_FALSE(r.on_tokens(ids));
    r.on_done(done_with("cancelled", ids));
    auto n = gs->wait(10ms);
    EXPECT_TRUE(n.done);
    EXPECT_EQ(n.text, "The man");
    // Ids up to the one that completed the stop string; nothing after it.
    EXPECT_LT(n.tokens.size(), ids.size());
    EXPECT_EQ(gs->finish_reason(), "stop");
}

TEST(gen_stream, held_back_prefix_is_released_at_the_end) {
    auto gs = std::make_shared<gen_stream>(&tiny_tokenizer(), std::vector<std::string>{"man said nothing"});
    gen_request r;
    gs->attach(r);
    std::vector<int32_t> ids = ids_of("The man said");
    EXPECT_TRUE(r.on_tokens(ids));
    auto n = gs->wait(10ms);
    EXPECT_EQ(n.text, "The ");  // "man said" might still become the stop string
    r.on_done(done_with("length", ids));
    n = gs->wait(10ms);
    EXPECT_EQ(n.text, "man said");
    EXPECT_EQ(gs->finish_reason(), "length");
}

TEST(gen_stream, utf8_is_never_split) {
    auto gs = std::make_shared<gen_stream>(&tiny_tokenizer(), std::vector<std::string>{});
    gen_request r;
    gs->attach(r);
    std::vector<int32_t> ids = ids_of("naïve café ☃");
    std::string text;
    for (int32_t id : ids) {
        EXPECT_TRUE(r.on_tokens({id}));
        auto n = gs->wait(1ms);
        // Each piece handed out is whole characters.
        for (size_t i = 0; i < n.text.size();) {
            unsigned char c = n.text[i];
            size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
            ASSERT_LE(i + len, n.text.size()) << "split character";
            i += len;
        }
        text += n.text;
    }
    r.on_done(done_with("stop", ids));
    text += gs->wait(1ms).text;
    EXPECT_EQ(text, "naïve café ☃");
}

TEST(gen_stream, abandoned_stream_stops_the_engine) {
    auto gs = std::make_shared<gen_stream>(&tiny_tokenizer(), std::vector<std::string>{});
    gen_request r;
    gs->attach(r);
    EXPECT_TRUE(r.on_tokens(ids_of("one")));
    gs->abandon();
    EXPECT_FALSE(r.on_tokens(ids_of(" two")));
    r.on_done(done_with("cancelled", {}));
    gs->wait_done();
    EXPECT_EQ(gs->finish_reason(), "cancelled");
}

TEST(gen_stream, token_ids_only_without_a_tokenizer) {
    auto gs = std::make_shared<gen_stream>(nullptr, std::vector<std::string>{});
    gen_request r;
    gs->attach(r);
    EXPECT_TRUE(r.on_tokens({5, 6, 7}));
    r.on_done(done_with("length", {5, 6, 7}));
    auto n = gs->wait(1ms);
    EXPECT_TRUE(n.text.empty());
    EXPECT_EQ(n.tokens, (std::vector<int32_t>{5, 6, 7}));
    EXPECT_TRUE(n.done);
}

}  // namespace
}  // namespace lf::server
