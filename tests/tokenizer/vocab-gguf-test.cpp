// Tokenizer metadata through a GGUF file: the keys, types and order upstream llama.cpp writes
// (docs: gguf-example.md), read back into an identical vocab, and rejection of bad metadata.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "gguf/gguf-writer.h"
#include "gguf/gguf.h"
#include "test-helpers.h"
#include "tokenizer/tokenizer.h"

namespace lf {
namespace {

std::string temp_path(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("lf-tok-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return (dir / name).string();
}

TEST(vocab_gguf, tiny_vocab_round_trips_with_upstream_keys) {
    vocab v = vocab_from_hf(test::tiny_files());
    gguf_writer w;
    w.set_str("general.architecture", "gemma4");
    write_vocab_gguf(v, w);

    // Key order and types as in the upstream example.
    std::vector<std::string> keys;
    for (const auto& [k, val] : w.kv)
        if (k.rfind("tokenizer.", 0) == 0) keys.push_back(k);
    EXPECT_EQ(keys, (std::vector<std::string>{
                        "tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
                        "tokenizer.ggml.token_type", "tokenizer.ggml.merges", "tokenizer.ggml.bos_token_id",
                        "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id",
                        "tokenizer.ggml.padding_token_id", "tokenizer.ggml.add_bos_token",
                        "tokenizer.ggml.add_sep_token", "tokenizer.ggml.add_eos_token", "tokenizer.chat_template",
                        "tokenizer.ggml.add_space_prefix"}));

    std::string path = temp_path("tiny-vocab.gguf");
    w.write(path);
    gguf_file f = gguf_file::open(path);
    EXPECT_EQ(f.get_str("tokenizer.ggml.model"), "gemma4");
    EXPECT_EQ(f.find("tokenizer.ggml.tokens")->elem, gguf_type::str);
    EXPECT_EQ(f.find("tokenizer.ggml.scores")->elem, gguf_type::f32);
    EXPECT_EQ(f.find("tokenizer.ggml.token_type")->elem, gguf_type::i32);
    EXPECT_EQ(f.find("tokenizer.ggml.bos_token_id")->type, gguf_type::u32);
    EXPECT_EQ(f.find("tokenizer.ggml.add_bos_token")->type, gguf_type::boolean);
    EXPECT_EQ(f.get_float_array("tokenizer.ggml.scores")[0], -1000.0);
    EXPECT_EQ(f.get_int_array("tokenizer.ggml.token_type")[0], 3);
    EXPECT_EQ(f.get_str_array("tokenizer.ggml.merges")[0], "▁ t");
    EXPECT_EQ(f.get_int("tokenizer.ggml.bos_token_id"), 2);
    EXPECT_EQ(f.get_int("tokenizer.ggml.eos_token_id"), 1);
    EXPECT_EQ(f.get_int("tokenizer.ggml.unknown_token_id"), 3);
    EXPECT_EQ(f.get_int("tokenizer.ggml.padding_token_id"), 0);
    EXPECT_TRUE(f.get_bool("tokenizer.ggml.add_bos_token"));
    EXPECT_FALSE(f.get_bool("tokenizer.ggml.add_sep_token"));
    EXPECT_FALSE(f.get_bool("tokenizer.ggml.add_eos_token"));
    EXPECT_FALSE(f.get_bool("tokenizer.ggml.add_space_prefix"));
    EXPECT_EQ(f.get_str("tokenizer.chat_template").size(), 16448u);

    vocab back = vocab_from_gguf(f);
    EXPECT_EQ(back.tokens, v.tokens);
    EXPECT_EQ(back.scores, v.scores);
    EXPECT_EQ(back.types, v.types);
    EXPECT_EQ(back.merges, v.merges);
    EXPECT_EQ(back.bos_id, v.bos_id);
    EXPECT_EQ(back.eos_id, v.eos_id);
    EXPECT_EQ(back.chat_template, v.chat_template);

    tokenizer a(v), b = tokenizer::from_gguf(f);
    for (const char* s : {"<|turn>user\nHello there!<turn|>\n", "  two leading spaces and a\ttab", "🇺🇸 ok"})
        EXPECT_EQ(a.tokenize(s, true, true), b.tokenize(s, true, true)) << s;
    std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

TEST(vocab_gguf, rejects_bad_metadata) {
    vocab v = vocab_from_hf(test::tiny_files());
    auto check_throws = [&](const std::function<void(gguf_writer&)>& edit, const char* what) {
        gguf_writer w;
        write_vocab_gguf(v, w);
        edit(w);
        std::string path = temp_path("bad.gguf");
        w.write(path);
        gguf_file f = gguf_file::open(path);
        EXPECT_THROW(vocab_from_gguf(f), lf::error) << what;
    };
    check_throws([](gguf_writer& w) { w.set_str("tokenizer.ggml.model", "llama"); }, "model");
    check_throws([](gguf_writer& w) { w.set_u32("tokenizer.ggml.bos_token_id", 9000); }, "bos range");
    check_throws([](gguf_writer& w) { w.set("tokenizer.ggml.scores", gguf_value::make_arr_f32({1.0f})); }, "scores");
    check_throws([](gguf_writer& w) { w.set("tokenizer.ggml.token_type", gguf_value::make_arr_i32({1, 2})); }, "types");
    check_throws([](gguf_writer& w) { w.set_str("tokenizer.ggml.merges", "x"); }, "merges type");
    check_throws([](gguf_writer& w) {
        std::vector<int32_t> t(8192, 1);
        t[5] = 42;
        w.set("tokenizer.ggml.token_type", gguf_value::make_arr_i32(t));
    }, "type value");
    // A merge naming a missing token passes the metadata reader but not the tokenizer.
    gguf_writer w;
    vocab bad = v;
    bad.merges.push_back("▁ zzzzqqq");
    write_vocab_gguf(bad, w);
    std::string path = temp_path("bad-merge.gguf");
    w.write(path);
    EXPECT_THROW(tokenizer::from_gguf(gguf_file::open(path)), lf::error);
    std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}

}  // namespace
}  // namespace lf
