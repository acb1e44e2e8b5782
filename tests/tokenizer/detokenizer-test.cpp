// Streaming detokenizer: never emits part of a UTF-8 character, and the streamed text equals the
// sanitized one-shot decode for any token sequence.
#include <gtest/gtest.h>

#include <random>

#include "core/error.h"
#include "test-helpers.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/utf8.h"

namespace lf {
namespace {

class detok : public ::testing::Test {
protected:
    static void SetUpTestSuite() { tok = new tokenizer(vocab_from_hf(test::tiny_files())); }
    static void TearDownTestSuite() {
        delete tok;
        tok = nullptr;
    }
    static int32_t byte(int b) { return 16 + b; }  // <0x00> is id 16 in the tiny vocab
    static tokenizer* tok;
};
tokenizer* detok::tok = nullptr;

bool valid_utf8(std::string_view s) { return utf8_sanitize(s) == s; }

TEST_F(detok, holds_back_split_characters) {
    // "€" = E2 82 AC as three byte tokens, then "a".
    stream_detokenizer d(*tok);
    EXPECT_EQ(d.push(byte(0xE2)), "");
    EXPECT_EQ(d.n_pending(), 1u);
    EXPECT_EQ(d.push(byte(0x82)), "");
    EXPECT_EQ(d.push(byte(0xAC)), "€");
    EXPECT_EQ(d.n_pending(), 0u);
    auto a = tok->tokenize("a", false, false);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(d.push(a[0]), "a");
    EXPECT_EQ(d.flush(), "");
}

TEST_F(detok, broken_sequences_become_replacement_characters) {
    stream_detokenizer d(*tok);
    EXPECT_EQ(d.push(byte(0xF0)), "");
    EXPECT_EQ(d.push(byte(0x9F)), "");
    auto a = tok->tokenize("a", false, false);
    EXPECT_EQ(d.push(a[0]), "\xEF\xBF\xBD\xEF\xBF\xBD" "a");  // the cut emoji, then 'a'
    EXPECT_EQ(d.push(byte(0xFF)), "\xEF\xBF\xBD");           // never valid: emitted at once
    EXPECT_EQ(d.push(byte(0xE2)), "");
    EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");  // unfinished at the end
    EXPECT_THROW(d.push(tok->n_tokens()), lf::error);
}

TEST_F(detok, control_tokens_only_when_rendering_specials) {
    auto ids = tok->tokenize("<|turn>user\nhi<turn|>", false, true);
    std::string plain, special;
    stream_detokenizer d1(*tok), d2(*tok, true);
    for (int32_t id : ids) {
        plain += d1.push(id);
        special += d2.push(id);
    }
    EXPECT_EQ(plain + d1.flush(), "user\nhi");
    EXPECT_EQ(special + d2.flush(), "<|turn>user\nhi<turn|>");
    // Protocol markers are user-defined: always rendered, so the output parser can see them.
    ids = tok->tokenize("<|channel>thought\nx<channel|>", false, true);
    plain.clear();
    stream_detokenizer d3(*tok);
    for (int32_t id : ids) plain += d3.push(id);
    EXPECT_EQ(plain, "<|channel>thought\nx<channel|>");
}

TEST_F(detok, random_sequences_match_one_shot_decode) {
    std::mt19937 rng(7);
    std::vector<int32_t> pool;
    for (int b = 0x80; b < 0x100; ++b) pool.push_back(byte(b));  // continuation and lead bytes
    for (const char* s : {"héllo", " wörld", "日本", "🙂", "\n", "a"})
        for (int32_t id : tok->tokenize(s, false, false)) pool.push_back(id);
    for (int round = 0; round < 500; ++round) {
        std::vector<int32_t> ids;
        std::uniform_int_distribution<size_t> pick(0, pool.size() - 1);
        int n = 1 + static_cast<int>(rng() % 12);
        for (int k = 0; k < n; ++k) ids.push_back(pool[pick(rng)]);
        stream_detokenizer d(*tok);
        std::string streamed;
        for (int32_t id : ids) {
            std::string piece = d.push(id);
            ASSERT_TRUE(valid_utf8(piece));
            streamed += piece;
        }
        streamed += d.flush();
        EXPECT_EQ(streamed, utf8_sanitize(tok->decode(ids, false)));
    }
    // Real text made of byte-fallback tokens streams back exactly.
    std::string text = "emoji 🤖🚀 and 𝔘𝔫𝔦 ∑ ok";
    stream_detokenizer d(*tok);
    std::string out;
    for (int32_t id : tok->tokenize(text, false, false)) out += d.push(id);
    EXPECT_EQ(out + d.flush(), text);
}

}  // namespace
}  // namespace lf
