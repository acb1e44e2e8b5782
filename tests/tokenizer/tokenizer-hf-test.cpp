// The tokenizer against Hugging Face `tokenizers` on two real vocabularies, loaded from their
// tokenizer.json through vocab_from_hf: the Gemma 3 tokenizer (262k tokens, gold.json) and the
// tiny Gemma 4 tokenizer (tiny_tokenizer_gold.json), each with 2000 random strings tokenized by
// HF ahead of time (tests/data/tokenizer-*/random_strings.json, made by make_random_strings.py).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "core/error.h"
#include "test-helpers.h"
#include "tokenizer/chat-template.h"
#include "tokenizer/tokenizer.h"

namespace lf {
namespace {

using nlohmann::json;

std::vector<int32_t> ids_of(const json& a) { return a.get<std::vector<int32_t>>(); }

// Decoding maps every '▁' back to a space (as HF's decoder does), so a literal U+2581 in the input
// comes back as ' '.
std::string expected_decode(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size();) {
        if (text.compare(i, 3, "\xE2\x96\x81") == 0) {
            out += ' ';
            i += 3;
        } else {
            out += text[i++];
        }
    }
    return out;
}

std::string show(const std::vector<int32_t>& v) {
    std::string s = "[";
    for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
    return s + "]";
}

// Compares tokenize() with HF's ids for every entry; returns the number of mismatches.
int check_strings(const tokenizer& tok, const json& entries, const char* ids_key, bool parse_special,
                  const char* what) {
    int bad = 0;
    for (const json& e : entries) {
        const std::string text = e["text"].get<std::string>();
        auto want = ids_of(e[ids_key]);
        auto got = tok.tokenize(text, false, parse_special);
        if (got != want) {
            if (++bad <= 5)
                ADD_FAILURE() << what << ": ids differ for " << json(text).dump() << "\n  want " << show(want)
                              << "\n  got  " << show(got);
        }
        // Decoding gives the text back (render specials when they were parsed).
        std::string back = tok.decode(got, parse_special);
        if (back != expected_decode(text) && ++bad <= 5)
            ADD_FAILURE() << what << ": decode differs for " << json(text).dump();
    }
    return bad;
}

// Throughput on ~1 MB of the random mixed text (reported, not asserted).
void report_speed(const tokenizer& tok, const json& entries, const char* name) {
    std::string text;
    while (text.size() < (1u << 20))
        for (const json& e : entries) {
            text += e["text"].get<std::string>();
            if (text.size() >= (1u << 20)) break;
        }
    auto t0 = std::chrono::steady_clock::now();
    auto ids = tok.tokenize(text, false, false);
    auto t1 = std::chrono::steady_clock::now();
    double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    std::printf("[speed] %s: tokenized %.2f MB into %zu tokens in %.1f ms (%.1f MB/s, one core)\n", name,
                text.size() / 1048576.0, ids.size(), ms, text.size() / 1048576.0 / (ms / 1000.0));
    EXPECT_TRUE(tok.decode(ids, false) == expected_decode(text)) << "1 MB text does not decode back";
}

TEST(tokenizer_hf, gemma3_matches_hf) {
    vocab v = vocab_from_hf(test::gemma3_files());

    // What the conversion derived from tokenizer.json / tokenizer_config.json.
    EXPECT_EQ(v.n_tokens(), 262145);  // 262144 model tokens + <image_soft_token>
    EXPECT_EQ(v.bos_id, 2);
    EXPECT_EQ(v.eos_id, 106);  // eos_token is <end_of_turn> in this config
    EXPECT_EQ(v.unk_id, 3);
    EXPECT_EQ(v.pad_id, 0);
    EXPECT_EQ(v.mask_id, -1);
    EXPECT_TRUE(v.add_bos);
    EXPECT_FALSE(v.add_eos);
    EXPECT_FALSE(v.chat_template.empty());
    EXPECT_EQ(v.merges.size(), 514906u);
    EXPECT_EQ(v.types[105], token_type::control);       // <start_of_turn>
    EXPECT_EQ(v.types[262144], token_type::control);    // <image_soft_token>, beyond the model vocab
    EXPECT_EQ(v.types[107], token_type::user_defined);  // "\n" is a non-special added token
    EXPECT_EQ(v.types[168], token_type::user_defined);  // <table>
    EXPECT_EQ(v.types[1000], token_type::normal);
    EXPECT_EQ(v.tokens[238], "<0x00>");
    EXPECT_EQ(v.types[238], token_type::byte);
    for (float s : v.scores) ASSERT_EQ(s, -1000.0f);

    tokenizer tok(std::move(v));

    // gold.json: ids of HF's default encode (added tokens matched).
    json gold = test::read_json(test::data_path("tokenizer-gemma3/gold.json"));
    ASSERT_GE(gold.size(), 20u);
    for (const json& e : gold) {
        const std::string text = e["text"].get<std::string>();
        auto want = ids_of(e["ids"]);
        EXPECT_EQ(tok.tokenize(text, false, true), want) << text;
        EXPECT_EQ(tok.decode(want, true), e["decoded"].get<std::string>()) << text;
        bool has_control = std::any_of(want.begin(), want.end(), [&](int32_t id) { return tok.is_control(id); });
        if (!has_control) {
            EXPECT_EQ(tok.tokenize(text, false, false), want) << text;
        }
    }
    EXPECT_EQ(tok.tokenize("Hello world", true, false), (std::vector<int32_t>{2, 9259, 1902}));

    json random = test::read_json(test::data_path("tokenizer-gemma3/random_strings.json"));
    ASSERT_GE(random.size(), 2000u);
    EXPECT_EQ(check_strings(tok, random, "ids", true, "gemma3 parse_special"), 0);
    EXPECT_EQ(check_strings(tok, random, "ids_no_special", false, "gemma3 plain"), 0);
    report_speed(tok, random, "gemma3");
}

TEST(tokenizer_hf, tiny_gemma4_matches_hf) {
    hf_tokenizer_files files = test::tiny_files();
    vocab v = vocab_from_hf(files);
    EXPECT_EQ(v.n_tokens(), 8192);
    EXPECT_EQ(v.merges.size(), 7780u);
    EXPECT_EQ(v.bos_id, 2);
    EXPECT_EQ(v.eos_id, 1);
    EXPECT_EQ(v.unk_id, 3);
    EXPECT_EQ(v.pad_id, 0);
    EXPECT_TRUE(v.add_bos);
    EXPECT_FALSE(v.add_eos);
    ASSERT_TRUE(v.add_sep.has_value());  // decided by the post-processor's pair template
    EXPECT_FALSE(*v.add_sep);
    EXPECT_TRUE(is_gemma4_chat_template(v.chat_template));
    EXPECT_EQ(v.chat_template.size(), 16448u);
    // Specials are control, except the protocol markers that must render as text.
    for (int id : {0, 1, 2, 3, 4, 5, 6, 9, 10}) EXPECT_EQ(v.types[id], token_type::control) << id;
    for (int id : {7, 8, 11, 12, 13, 14, 15}) EXPECT_EQ(v.types[id], token_type::user_defined) << v.tokens[id];
    EXPECT_EQ(v.types[16], token_type::byte);
    EXPECT_EQ(v.types[271], token_type::byte);
    EXPECT_EQ(v.types[273], token_type::normal);  // "\n"

    tokenizer tok(std::move(v));
    std::vector<int32_t> eog = tok.eog_ids();
    std::sort(eog.begin(), eog.end());
    EXPECT_EQ(eog, (std::vector<int32_t>{1, 5, 13}));  // <eos>, <turn|>, <|tool_response>

    json gold = test::read_json(test::data_path("tokenizer-tiny/tiny_tokenizer_gold.json"));
    ASSERT_GE(gold.size(), 40u);
    for (const json& e : gold) {
        const std::string text = e["text"].get<std::string>();
        auto want = ids_of(e["ids"]);
        EXPECT_EQ(tok.tokenize(text, false, true), want) << text;
        EXPECT_EQ(tok.decode(want, true), e["decoded"].get<std::string>()) << text;
    }

    json random = test::read_json(test::data_path("tokenizer-tiny/random_strings.json"));
    ASSERT_GE(random.size(), 2000u);
    EXPECT_EQ(check_strings(tok, random, "ids", true, "tiny parse_special"), 0);
    EXPECT_EQ(check_strings(tok, random, "ids_no_special", false, "tiny plain"), 0);
    report_speed(tok, random, "tiny");
}

TEST(tokenizer_hf, malformed_tokenizer_json_is_rejected) {
    hf_tokenizer_files f;
    f.tokenizer = json::parse(R"({"model": {"type": "Unigram", "vocab": []}})");
    EXPECT_THROW(vocab_from_hf(f), lf::error);
    f.tokenizer = json::parse(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 5}, "merges": [["a", "b"]]}})");
    EXPECT_THROW(vocab_from_hf(f), lf::error);
    f.tokenizer = json::parse(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": []}})");
    EXPECT_THROW(vocab_from_hf(f), lf::error);
    f.tokenizer = json::parse(R"({"model": {"type": "BPE", "vocab": {"<bos>": 0, "a": 1}, "merges": [3]}})");
    EXPECT_THROW(vocab_from_hf(f), lf::error);
    // No bos among the added tokens.
    f.tokenizer = json::parse(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}})");
    EXPECT_THROW(vocab_from_hf(f), lf::error);
    EXPECT_THROW(read_hf_tokenizer_files("/nonexistent-dir"), lf::error);
}

TEST(tokenizer_hf, chat_template_sources) {
    hf_tokenizer_files f;
    f.tokenizer = json::parse(R"({"model": {"type": "BPE", "vocab": {"<bos>": 0, "a": 1, "b": 2, "ab": 3},
        "merges": [["a", "b"]]}, "added_tokens": [{"id": 0, "content": "<bos>", "special": true}]})");
    f.tokenizer_config = json::parse(R"({"bos_token": {"content": "<bos>"}})");
    f.chat_template_jinja = "from jinja file";
    EXPECT_EQ(vocab_from_hf(f).chat_template, "from jinja file");
    f.tokenizer_config["chat_template"] = "from config";
    EXPECT_EQ(vocab_from_hf(f).chat_template, "from config");
    f.tokenizer_config["chat_template"] = json::parse(R"([{"name": "default", "template": "D"},
        {"name": "tool use", "template": "T"}])");
    vocab v = vocab_from_hf(f);
    EXPECT_EQ(v.chat_template, "D");
    ASSERT_EQ(v.named_chat_templates.size(), 1u);
    EXPECT_EQ(v.named_chat_templates[0].first, "tool_use");
    f.tokenizer_config.erase("chat_template");
    f.chat_template_jinja.reset();
    f.chat_template_json = json::parse(R"({"chat_template": "from json"})");
    EXPECT_EQ(vocab_from_hf(f).chat_template, "from json");
    EXPECT_EQ(vocab_from_hf(f).bos_id, 0);
    EXPECT_EQ(vocab_from_hf(f).types[0], token_type::control);
}

}  // namespace
}  // namespace lf
