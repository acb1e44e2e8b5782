// Unit tests of the Gemma BPE tokenizer on a small vocabulary built from vectors: normalization,
// newline runs, merge order, byte fallback, added-token matching policy, decoding, EOG set, and
// validation errors.
#include <gtest/gtest.h>

#include "core/error.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/utf8.h"

namespace lf {
namespace {

struct builder {
    vocab v;
    int32_t add(const std::string& text, token_type t = token_type::normal) {
        v.tokens.push_back(text);
        v.scores.push_back(-1000.0f);
        v.types.push_back(t);
        return static_cast<int32_t>(v.tokens.size() - 1);
    }
};

// ids: 0 <pad> 1 <eos> 2 <bos> 3 <unk> 4 <|turn> 5 <turn|> 6 <|channel> 7 <table> 8 <|tool_response>
//      9.. bytes, then pieces.
class small_vocab : public ::testing::Test {
protected:
    void SetUp() override {
        builder b;
        b.add("<pad>", token_type::control);
        b.add("<eos>", token_type::control);
        b.add("<bos>", token_type::control);
        b.add("<unk>", token_type::control);
        b.add("<|turn>", token_type::control);
        b.add("<turn|>", token_type::control);
        b.add("<|channel>", token_type::user_defined);
        b.add("<table>", token_type::user_defined);
        b.add("<|tool_response>", token_type::user_defined);
        byte0 = b.add("<0x00>", token_type::byte);
        for (int i = 1; i < 256; ++i) {
            char name[8];
            std::snprintf(name, sizeof name, "<0x%02X>", i);
            b.add(name, token_type::byte);
        }
        for (const char* p : {"▁", "a", "b", "c", "\n", "\n\n", "ab", "abc", "▁a", "bc", "é", "▁▁", "▁ab", "t", "▁t",
                              "<", ">", "|", "e", "r", "n", "u", "ur", "urn", "turn"})
            b.add(p);
        b.v.merges = {"a b", "ab c", "▁ a", "b c", "\n \n", "▁ ▁", "▁a b", "▁ t", "u r", "ur n", "t urn"};
        b.v.bos_id = 2;
        b.v.eos_id = 1;
        b.v.unk_id = 3;
        b.v.pad_id = 0;
        voc = b.v;
        tok = std::make_unique<tokenizer>(voc);
    }
    int32_t id(const std::string& text) const { return *tok->find_token(text); }
    vocab voc;
    std::unique_ptr<tokenizer> tok;
    int32_t byte0 = 0;
};

TEST_F(small_vocab, merges_by_rank) {
    EXPECT_EQ(tok->tokenize("abc", false, false), std::vector<int32_t>{id("abc")});
    // "bc" merges at rank 3 but "ab" (rank 0) wins first, then "ab c" (rank 1).
    EXPECT_EQ(tok->tokenize("ab", false, false), std::vector<int32_t>{id("ab")});
    EXPECT_EQ(tok->tokenize("bc", false, false), std::vector<int32_t>{id("bc")});
    EXPECT_EQ(tok->tokenize("cab", false, false), (std::vector<int32_t>{id("c"), id("ab")}));
}

TEST_F(small_vocab, spaces_become_the_escape_character) {
    EXPECT_EQ(tok->tokenize(" a", false, false), std::vector<int32_t>{id("▁a")});
    // "▁ a" (rank 2) beats "▁ ▁" (rank 5); "a b" (rank 0) beats "▁ a".
    EXPECT_EQ(tok->tokenize("  a", false, false), (std::vector<int32_t>{id("▁"), id("▁a")}));
    EXPECT_EQ(tok->tokenize(" ab", false, false), (std::vector<int32_t>{id("▁"), id("ab")}));
    // Equal ranks merge leftmost first.
    EXPECT_EQ(tok->tokenize("   ", false, false), (std::vector<int32_t>{id("▁▁"), id("▁")}));
    // No prefix space is added.
    EXPECT_EQ(tok->tokenize("a", false, false), std::vector<int32_t>{id("a")});
}

TEST_F(small_vocab, newline_runs_are_split_off_and_looked_up_whole) {
    EXPECT_EQ(tok->tokenize("a\n\nb", false, false), (std::vector<int32_t>{id("a"), id("\n\n"), id("b")}));
    // Three newlines are not a token: BPE over the run.
    EXPECT_EQ(tok->tokenize("\n\n\n", false, false), (std::vector<int32_t>{id("\n\n"), id("\n")}));
    // No merge crosses a newline even when one would exist inside a word.
    EXPECT_EQ(tok->tokenize("a\nb", false, false), (std::vector<int32_t>{id("a"), id("\n"), id("b")}));
}

TEST_F(small_vocab, unknown_characters_fall_back_to_bytes) {
    // 'z' and '€' (E2 82 AC) are not in the vocabulary.
    EXPECT_EQ(tok->tokenize("z", false, false), std::vector<int32_t>{byte0 + 'z'});
    EXPECT_EQ(tok->tokenize("a€", false, false), (std::vector<int32_t>{id("a"), byte0 + 0xE2, byte0 + 0x82, byte0 + 0xAC}));
    EXPECT_EQ(tok->tokenize("é", false, false), std::vector<int32_t>{id("é")});
    // Invalid UTF-8 bytes are their own units.
    EXPECT_EQ(tok->tokenize(std::string("\xFF" "a"), false, false), (std::vector<int32_t>{byte0 + 0xFF, id("a")}));
    EXPECT_EQ(tok->tokenize(std::string("\0", 1), false, false), std::vector<int32_t>{byte0});
}

TEST_F(small_vocab, special_tokens_only_when_allowed) {
    // Control tokens: matched only with parse_special; otherwise plain text.
    auto with = tok->tokenize("<|turn>ab", false, true);
    EXPECT_EQ(with, (std::vector<int32_t>{4, id("ab")}));
    auto without = tok->tokenize("<|turn>ab", false, false);
    EXPECT_EQ(std::find(without.begin(), without.end(), 4), without.end());
    EXPECT_EQ(tok->decode(without, false), "<|turn>ab");
    // Gemma 4 protocol markers are user-defined (rendered) yet still never matched in plain text.
    auto ch = tok->tokenize("<|channel>", false, false);
    EXPECT_NE(ch, std::vector<int32_t>{6});
    EXPECT_EQ(tok->tokenize("<|channel>", false, true), std::vector<int32_t>{6});
    // Ordinary user-defined added tokens match in plain text, as HF does.
    EXPECT_EQ(tok->tokenize("a<table>b", false, false), (std::vector<int32_t>{id("a"), 7, id("b")}));
    // Leftmost-longest: "<turn|>" is matched, not "<" + ...
    EXPECT_EQ(tok->tokenize("x<turn|>", false, true).back(), 5);
}

TEST_F(small_vocab, disallowed_match_stays_text_as_a_whole) {
    // HF finds matches over all added tokens first; a disallowed one is skipped entirely, so a
    // user-defined token inside it is not matched either.
    builder b;
    b.v = voc;
    int32_t outer = b.add("<x<table>>", token_type::control);
    tokenizer t(b.v);
    auto ids = t.tokenize("<x<table>>", false, false);
    EXPECT_EQ(std::find(ids.begin(), ids.end(), 7), ids.end());
    EXPECT_EQ(t.tokenize("<x<table>>", false, true), std::vector<int32_t>{outer});
}

TEST_F(small_vocab, add_special_prepends_bos) {
    EXPECT_EQ(tok->tokenize("a", true, false), (std::vector<int32_t>{2, id("a")}));
    EXPECT_EQ(tok->tokenize("", true, false), std::vector<int32_t>{2});
    EXPECT_TRUE(tok->tokenize("", false, false).empty());
}

TEST_F(small_vocab, decode_reverses_tokenize) {
    for (std::string s : {"abc cab", "  a\n\nb \n", "€ é z", "<table> and <|turn> text", "\t\x01x"}) {
        auto ids = tok->tokenize(s, false, false);
        EXPECT_EQ(tok->decode(ids, false), s) << s;
        auto ids2 = tok->tokenize(s, false, true);
        EXPECT_EQ(tok->decode(ids2, true), s) << s;
    }
    // Control tokens vanish unless rendered; user-defined ones always render.
    std::vector<int32_t> ids = {2, 4, id("a"), 6, 5};
    EXPECT_EQ(tok->decode(ids, false), "a<|channel>");
    EXPECT_EQ(tok->decode(ids, true), "<bos><|turn>a<|channel><turn|>");
    EXPECT_THROW(tok->decode(std::vector<int32_t>{tok->n_tokens()}, false), lf::error);
    EXPECT_THROW(tok->decode(std::vector<int32_t>{-1}, false), lf::error);
}

TEST_F(small_vocab, end_of_generation_set) {
    EXPECT_TRUE(tok->is_eog(1));                  // <eos> (also the vocab's eos)
    EXPECT_TRUE(tok->is_eog(5));                  // <turn|>
    EXPECT_TRUE(tok->is_eog(8));                  // <|tool_response>
    EXPECT_FALSE(tok->is_eog(4));
    EXPECT_FALSE(tok->is_eog(6));
    EXPECT_FALSE(tok->is_eog(-1));
    EXPECT_FALSE(tok->is_eog(tok->n_tokens()));
    EXPECT_EQ(tok->eog_ids().size(), 3u);
}

TEST_F(small_vocab, normal_typed_known_markers_are_still_special) {
    // A converter that lost the special flag types "<|turn>" as NORMAL; it must still be matched
    // when parsing specials (else chat prompts break) and never in plain text.
    vocab v = voc;
    v.types[4] = token_type::normal;
    tokenizer t(v);
    EXPECT_EQ(t.tokenize("<|turn>", false, true), std::vector<int32_t>{4});
    EXPECT_NE(t.tokenize("<|turn>", false, false), std::vector<int32_t>{4});
}

TEST_F(small_vocab, unknown_without_byte_tokens_fuses) {
    builder b;
    for (const char* p : {"<bos>", "<unk>", "a"}) b.add(p, std::string(p) == "a" ? token_type::normal : token_type::control);
    b.v.merges = {};
    b.v.bos_id = 0;
    b.v.unk_id = 1;
    tokenizer t(b.v);
    EXPECT_EQ(t.tokenize("xyza", false, false), (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(t.tokenize("xaz", false, false), (std::vector<int32_t>{1, 2, 1}));
}

TEST_F(small_vocab, rejects_inconsistent_vocabularies) {
    vocab v = voc;
    v.merges.push_back("a zz");
    EXPECT_THROW(tokenizer{v}, lf::error);
    v = voc;
    v.merges.push_back("ab");
    EXPECT_THROW(tokenizer{v}, lf::error);
    v = voc;
    v.scores.pop_back();
    EXPECT_THROW(tokenizer{v}, lf::error);
    v = voc;
    v.bos_id = v.n_tokens();
    EXPECT_THROW(tokenizer{v}, lf::error);
    v = voc;
    v.types[0] = static_cast<token_type>(9);
    EXPECT_THROW(tokenizer{v}, lf::error);
    v = voc;
    v.tokens.clear();
    v.scores.clear();
    v.types.clear();
    EXPECT_THROW(tokenizer{v}, lf::error);
}

TEST(utf8, helpers) {
    EXPECT_EQ(utf8_seq_len("é", 0), 2u);
    EXPECT_EQ(utf8_seq_len("\xE2\x82", 0), 0u);          // truncated
    EXPECT_EQ(utf8_seq_len("\xC0\x80", 0), 0u);          // overlong
    EXPECT_EQ(utf8_seq_len("\xED\xA0\x80", 0), 0u);      // surrogate
    EXPECT_EQ(utf8_seq_len("\xF4\x90\x80\x80", 0), 0u);  // > U+10FFFF
    EXPECT_EQ(utf8_seq_len("\xF0\x9F\x98\x80", 0), 4u);
    EXPECT_EQ(utf8_incomplete_tail("a\xF0\x9F\x98"), 3u);
    EXPECT_EQ(utf8_incomplete_tail("a\xE2"), 1u);
    EXPECT_EQ(utf8_incomplete_tail("a\xE2\x28"), 0u);  // not a valid prefix
    EXPECT_EQ(utf8_incomplete_tail("é"), 0u);
    EXPECT_EQ(utf8_sanitize("a\xFF" "b\xE2\x82"), "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(py_strip("\u3000\t x y \u00a0\n"), "x y");
    EXPECT_EQ(py_strip(" \x1c\x1f "), "");
    EXPECT_EQ(py_strip("\u200bx"), "\u200bx");  // zero-width space is not whitespace in Python
}

}  // namespace
}  // namespace lf
