// GGUF read → write → read is identical, every value type survives, and tensor data is zero-copy.
#include <gtest/gtest.h>

#include <cstring>

#include "gguf-test-util.h"
#include "core/error.h"
#include "gguf/gguf.h"

using namespace lf;

TEST(gguf, write_then_read_keeps_every_key_and_tensor) {
    const test::temp_file file("rt1.gguf");
    const std::string& path = file.path;
    test::sample_writer().write(path);
    gguf_file f = gguf_file::open(path);
    EXPECT_EQ(f.version, 3u);
    EXPECT_EQ(f.get_str("general.architecture"), "gemma4");
    EXPECT_EQ(f.get_int("gemma4.block_count"), 6);
    EXPECT_FLOAT_EQ(f.get_float("gemma4.rope.freq_base"), 1e6);
    EXPECT_TRUE(f.get_bool("tokenizer.ggml.add_bos_token"));
    EXPECT_EQ(f.get_int("t.i32"), -7);
    EXPECT_EQ(f.get_int("t.u64"), int64_t(1) << 40);
    EXPECT_EQ(f.get_int("t.u8"), 200);
    EXPECT_EQ(f.get_int("t.i16"), -300);
    EXPECT_DOUBLE_EQ(f.get_float("t.f64"), 3.25);
    EXPECT_EQ(f.get_str_array("tokenizer.ggml.tokens"), (std::vector<std::string>{"<pad>", "<eos>", "▁hello", ""}));
    EXPECT_EQ(f.get_float_array("tokenizer.ggml.scores")[1], 0.5);
    EXPECT_EQ(f.get_int_array("gemma4.attention.head_count_kv"), (std::vector<int64_t>{2, 2, 1}));
    EXPECT_EQ(f.get_int_array("gemma4.attention.sliding_window_pattern"), (std::vector<int64_t>{1, 1, 0}));
    ASSERT_NE(f.find("t.nested"), nullptr);
    EXPECT_EQ(f.find("t.nested")->arr_nested.size(), 2u);
    ASSERT_EQ(f.tensors.size(), 3u);
    const gguf_tensor* a = f.find_tensor("a.weight");
    ASSERT_NE(a, nullptr);
    EXPECT_EQ(a->ne, (std::vector<int64_t>{16, 4}));
    EXPECT_EQ(a->n_bytes, 256u);
    float a5;
    std::memcpy(&a5, a->data + 5 * 4, 4);
    EXPECT_FLOAT_EQ(a5, 0.25f * 5 - 3.f);
    EXPECT_EQ(f.find_tensor("b.weight")->type, dtype::q8_0);
    EXPECT_EQ(f.find_tensor("b.weight")->n_bytes, 3u * 34u);
    for (const auto& t : f.tensors) EXPECT_EQ((t.data - (f.find_tensor("a.weight")->data)) % 32, 0) << t.name;
}

TEST(gguf, read_write_read_is_byte_identical) {
    const test::temp_file f_a("rt2a.gguf"), f_b("rt2b.gguf");
    const std::string& p1 = f_a.path;
    const std::string& p2 = f_b.path;
    test::sample_writer().write(p1);
    gguf_file f1 = gguf_file::open(p1);
    writer_from(f1).write(p2);
    EXPECT_EQ(test::read_bytes(p1), test::read_bytes(p2));
    gguf_file f2 = gguf_file::open(p2);
    ASSERT_EQ(f1.kv.size(), f2.kv.size());
    for (size_t k = 0; k < f1.kv.size(); ++k) {
        EXPECT_EQ(f1.kv[k].first, f2.kv[k].first);
        EXPECT_TRUE(f1.kv[k].second == f2.kv[k].second) << f1.kv[k].first;
    }
}

TEST(gguf, custom_alignment_is_recorded_and_respected) {
    const test::temp_file file("align.gguf");
    const std::string& path = file.path;
    gguf_writer w = test::sample_writer();
    w.alignment = 64;
    w.write(path);
    gguf_file f = gguf_file::open(path);
    EXPECT_EQ(f.alignment, 64u);
    EXPECT_EQ(f.get_int("general.alignment"), 64);
    for (const auto& t : f.tensors) EXPECT_EQ(t.offset % 64, 0u) << t.name;
    EXPECT_EQ(f.data_offset() % 64, 0u);
}

TEST(gguf, typed_getters_name_the_key) {
    const test::temp_file file("getters.gguf");
    const std::string& path = file.path;
    test::sample_writer().write(path);
    gguf_file f = gguf_file::open(path);
    try {
        f.get_int("general.architecture");
        FAIL();
    } catch (const lf::error& e) {
        EXPECT_NE(std::string(e.what()).find("general.architecture"), std::string::npos);
    }
    try {
        f.get_str("no.such.key");
        FAIL();
    } catch (const lf::error& e) {
        EXPECT_NE(std::string(e.what()).find("no.such.key"), std::string::npos);
    }
    EXPECT_FALSE(f.opt_int("no.such.key").has_value());
}
