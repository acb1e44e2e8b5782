// HF → GGUF mapping: metadata derived from the tiny trained pair's config.json equals what
// upstream llama.cpp wrote for it (docs/gguf-example.md), the type policy, rope_freqs, size
// labels, and the planned tensor lists of the fixtures.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "convert/gemma4-convert.h"
#include "convert/quant-policy.h"
#include "core/error.h"
#include "gguf/gguf.h"

using namespace lf;

namespace {

const std::string k_data = LF_TEST_DATA;

struct expect_kv {
    std::string key;
    std::string value;  // rendered by render()
};

std::string render(const gguf_value& v) {
    auto scalar = [](gguf_type t, uint64_t u, int64_t i, double f, bool b, const std::string& s) -> std::string {
        switch (t) {
            case gguf_type::u32: return "u32:" + std::to_string(u);
            case gguf_type::i32: return "i32:" + std::to_string(i);
            case gguf_type::f32: return "f32:" + std::to_string(static_cast<float>(f));
            case gguf_type::boolean: return std::string("bool:") + (b ? "1" : "0");
            case gguf_type::str: return "str:" + s;
            default: return "other";
        }
    };
    if (v.type != gguf_type::arr) return scalar(v.type, v.u, v.i, v.f, v.b, v.s);
    std::string out = "arr[";
    for (size_t k = 0; k < v.array_size(); ++k) {
        if (k) out += ",";
        if (v.elem == gguf_type::i32) out += "i32:" + std::to_string(v.arr_i[k]);
        else if (v.elem == gguf_type::boolean) out += std::string("bool:") + (v.arr_u[k] ? "1" : "0");
        else out += "other";
    }
    return out + "]";
}

void expect_metadata(const gguf_writer& w, const std::vector<expect_kv>& want) {
    ASSERT_EQ(w.kv.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(w.kv[i].first, want[i].key) << "position " << i;
        EXPECT_EQ(render(w.kv[i].second), want[i].value) << want[i].key;
    }
}

std::map<std::string, planned_tensor> by_name(const conversion& cv) {
    std::map<std::string, planned_tensor> m;
    for (const auto& t : cv.tensors) m[t.name] = t;
    return m;
}

}  // namespace

TEST(Gemma4Convert, TinyTargetMetadataMatchesLlamaCpp) {
    hf_model_config m = read_hf_config(k_data + "/tiny-gemma4/target");
    gguf_writer w;
    write_gemma4_metadata(w, m, dtype::q8_0, "Target", "8.2M");
    // docs/gguf-example.md, tiny-target-q8_0.gguf, in file order (tokenizer keys aside).
    expect_metadata(w, {
        {"general.architecture", "str:gemma4"},
        {"general.type", "str:model"},
        {"general.name", "str:Target"},
        {"general.size_label", "str:8.2M"},
        {"gemma4.block_count", "u32:6"},
        {"gemma4.context_length", "u32:4096"},
        {"gemma4.embedding_length", "u32:256"},
        {"gemma4.feed_forward_length", "u32:1024"},
        {"gemma4.attention.head_count", "u32:4"},
        {"gemma4.attention.head_count_kv", "arr[i32:2,i32:2,i32:1,i32:2,i32:2,i32:1]"},
        {"gemma4.rope.freq_base", "f32:1000000.000000"},
        {"gemma4.rope.freq_base_swa", "f32:10000.000000"},
        {"gemma4.attention.layer_norm_rms_epsilon", "f32:0.000001"},
        {"gemma4.attention.key_length", "u32:128"},
        {"gemma4.attention.value_length", "u32:128"},
        {"general.file_type", "u32:7"},
        {"gemma4.final_logit_softcapping", "f32:30.000000"},
        {"gemma4.attention.sliding_window", "u32:128"},
        {"gemma4.attention.shared_kv_layers", "u32:0"},
        {"gemma4.embedding_length_per_layer_input", "u32:0"},
        {"gemma4.attention.sliding_window_pattern", "arr[bool:1,bool:1,bool:0,bool:1,bool:1,bool:0]"},
        {"gemma4.attention.key_length_swa", "u32:64"},
        {"gemma4.attention.value_length_swa", "u32:64"},
        {"gemma4.rope.dimension_count", "u32:128"},
        {"gemma4.rope.dimension_count_swa", "u32:64"},
        {"general.quantization_version", "u32:2"},
    });
    // The epsilon is the f32 nearest 1e-6, as in the example (9.999999974752427e-07).
    EXPECT_EQ(static_cast<float>(w.kv[12].second.f), 1e-6f);
}

TEST(Gemma4Convert, TinyAssistantMetadataMatchesLlamaCpp) {
    hf_model_config m = read_hf_config(k_data + "/tiny-gemma4/assistant");
    gguf_writer w;
    write_gemma4_metadata(w, m, dtype::q8_0, "Assistant", "2.3M");
    expect_metadata(w, {
        {"general.architecture", "str:gemma4-assistant"},
        {"general.type", "str:model"},
        {"general.name", "str:Assistant"},
        {"general.size_label", "str:2.3M"},
        {"gemma4-assistant.block_count", "u32:4"},
        {"gemma4-assistant.context_length", "u32:4096"},
        {"gemma4-assistant.embedding_length", "u32:128"},
        {"gemma4-assistant.feed_forward_length", "u32:512"},
        {"gemma4-assistant.attention.head_count", "u32:4"},
        {"gemma4-assistant.attention.head_count_kv", "arr[i32:2,i32:2,i32:2,i32:1]"},
        {"gemma4-assistant.rope.freq_base", "f32:1000000.000000"},
        {"gemma4-assistant.rope.freq_base_swa", "f32:10000.000000"},
        {"gemma4-assistant.attention.layer_norm_rms_epsilon", "f32:0.000001"},
        {"gemma4-assistant.attention.key_length", "u32:128"},
        {"gemma4-assistant.attention.value_length", "u32:128"},
        {"general.file_type", "u32:7"},
        {"gemma4-assistant.attention.sliding_window", "u32:128"},
        {"gemma4-assistant.attention.shared_kv_layers", "u32:4"},
        {"gemma4-assistant.embedding_length_per_layer_input", "u32:0"},
        {"gemma4-assistant.attention.sliding_window_pattern", "arr[bool:1,bool:1,bool:1,bool:0]"},
        {"gemma4-assistant.attention.key_length_swa", "u32:64"},
        {"gemma4-assistant.attention.value_length_swa", "u32:64"},
        {"gemma4-assistant.rope.dimension_count", "u32:128"},
        {"gemma4-assistant.rope.dimension_count_swa", "u32:64"},
        {"gemma4-assistant.embedding_length_out", "u32:256"},
        {"gemma4-assistant.nextn_predict_layers", "u32:4"},
        {"general.quantization_version", "u32:2"},
    });
}

TEST(Gemma4Convert, PublishedE2BMetadata) {
    hf_model_config m = read_hf_config(k_data + "/configs/gemma-4-e2b.json");
    gguf_writer w;
    write_gemma4_metadata(w, m, dtype::f16, "E2B", "");
    std::map<std::string, std::string> kv;
    for (const auto& [k, v] : w.kv) kv[k] = render(v);
    EXPECT_EQ(kv.count("general.size_label"), 0u);
    EXPECT_EQ(kv["general.file_type"], "u32:1");
    EXPECT_EQ(kv["gemma4.attention.head_count_kv"], "u32:1");
    EXPECT_EQ(kv["gemma4.embedding_length_per_layer_input"], "u32:256");
    EXPECT_EQ(kv["gemma4.attention.shared_kv_layers"], "u32:20");
    EXPECT_EQ(kv["gemma4.attention.key_length"], "u32:512");
    EXPECT_EQ(kv["gemma4.rope.dimension_count"], "u32:512");
    EXPECT_EQ(kv["gemma4.rope.dimension_count_swa"], "u32:256");
    std::string ff = "arr[";
    for (int il = 0; il < 35; ++il) ff += (il ? "," : "") + std::string("i32:") + (il < 15 ? "6144" : "12288");
    EXPECT_EQ(kv["gemma4.feed_forward_length"], ff + "]");

    hf_model_config moe = read_hf_config(k_data + "/configs/gemma-4-26b-a4b.json");
    gguf_writer w2;
    write_gemma4_metadata(w2, moe, dtype::q4_0, "26B", "");
    kv.clear();
    for (const auto& [k, v] : w2.kv) kv[k] = render(v);
    EXPECT_EQ(kv["gemma4.expert_count"], "u32:128");
    EXPECT_EQ(kv["gemma4.expert_used_count"], "u32:8");
    EXPECT_EQ(kv["gemma4.expert_feed_forward_length"], "u32:704");
    EXPECT_EQ(kv["general.file_type"], "u32:2");

    hf_model_config e2b_a = read_hf_config(k_data + "/configs/gemma-4-e2b-assistant.json");
    gguf_writer w3;
    write_gemma4_metadata(w3, e2b_a, dtype::bf16, "E2B assistant", "");
    kv.clear();
    for (const auto& [k, v] : w3.kv) kv[k] = render(v);
    EXPECT_EQ(kv["general.file_type"], "u32:32");
    EXPECT_EQ(kv["gemma4-assistant.embedding_length_out"], "u32:1536");
    EXPECT_EQ(kv["gemma4-assistant.masked_embedding.centroid_count"], "u32:2048");
    EXPECT_EQ(kv["gemma4-assistant.masked_embedding.top_k"], "u32:32");
    EXPECT_EQ(kv.count("gemma4-assistant.final_logit_softcapping"), 0u);
}

TEST(Gemma4Convert, RopeFreqs) {
    auto tiny = gemma4_rope_freqs(read_hf_config(k_data + "/tiny-gemma4/target").text);
    ASSERT_EQ(tiny.size(), 64u);  // head_dim_full / 2, as in gguf-example.md
    for (size_t i = 0; i < 64; ++i) EXPECT_EQ(tiny[i], i < 16 ? 1.0f : 1e30f) << i;
    auto e2b = gemma4_rope_freqs(read_hf_config(k_data + "/configs/gemma-4-e2b.json").text);
    ASSERT_EQ(e2b.size(), 256u);
    EXPECT_EQ(e2b[63], 1.0f);
    EXPECT_EQ(e2b[64], 1e30f);
}

TEST(Gemma4Convert, TypePolicy) {
    const std::vector<int64_t> mat = {256, 1024}, odd = {48, 64}, vec = {256};
    EXPECT_EQ(convert_type("blk.0.attn_q.weight", mat, dtype::q8_0), dtype::q8_0);
    EXPECT_EQ(convert_type("blk.0.attn_q.weight", mat, dtype::bf16), dtype::bf16);
    EXPECT_EQ(convert_type("blk.0.attn_q.weight", odd, dtype::q4_0), dtype::f16);  // row not a block multiple
    EXPECT_EQ(convert_type("blk.0.attn_norm.weight", vec, dtype::q8_0), dtype::f32);
    EXPECT_EQ(convert_type("blk.0.attn_q_norm.weight", vec, dtype::f16), dtype::f32);
    EXPECT_EQ(convert_type("rope_freqs.weight", vec, dtype::f16), dtype::f32);
    EXPECT_EQ(convert_type("blk.0.layer_output_scale.weight", {1}, dtype::q8_0), dtype::f32);
    EXPECT_EQ(convert_type("blk.0.ffn_gate_inp.weight", mat, dtype::f16), dtype::f32);
    EXPECT_EQ(convert_type("blk.0.ffn_gate_inp.scale", vec, dtype::f16), dtype::f32);
    EXPECT_EQ(convert_type("blk.0.ffn_down_exps.scale", {8}, dtype::q8_0), dtype::f32);
    EXPECT_EQ(convert_type("blk.0.ffn_gate_up_exps.weight", {64, 96, 8}, dtype::q8_0), dtype::q8_0);
    EXPECT_EQ(convert_type("per_layer_model_proj.weight", mat, dtype::q8_0), dtype::f16);
    EXPECT_EQ(convert_type("per_layer_model_proj.weight", mat, dtype::f16), dtype::f16);
    EXPECT_EQ(convert_type("token_embd.weight", mat, dtype::q8_0), dtype::q8_0);
    EXPECT_EQ(convert_type("token_embd.weight", mat, dtype::q4_0), dtype::q8_0);
    EXPECT_EQ(convert_type("per_layer_token_embd.weight", mat, dtype::q4_0), dtype::q4_0);
    EXPECT_EQ(convert_type("masked_embd_ordering", {1024}, dtype::q8_0), dtype::f32);
    EXPECT_EQ(convert_type("masked_embd_centroids.weight", {256, 2048}, dtype::q8_0), dtype::q8_0);
    EXPECT_EQ(convert_type("nextn.pre_projection.weight", {512, 128}, dtype::q4_0), dtype::q4_0);

    EXPECT_TRUE(is_quantizable("blk.3.ffn_down.weight", 2));
    EXPECT_FALSE(is_quantizable("blk.3.ffn_norm.weight", 2));
    EXPECT_FALSE(is_quantizable("blk.3.ffn_down.weight", 1));
    EXPECT_FALSE(is_quantizable("blk.3.ffn_gate_inp.weight", 2));
    EXPECT_FALSE(is_quantizable("per_layer_model_proj.weight", 2));
    EXPECT_FALSE(is_quantizable("masked_embd_ordering", 1));

    EXPECT_EQ(file_type_of(dtype::f32), 0u);
    EXPECT_EQ(file_type_of(dtype::f16), 1u);
    EXPECT_EQ(file_type_of(dtype::q4_0), 2u);
    EXPECT_EQ(file_type_of(dtype::q8_0), 7u);
    EXPECT_EQ(file_type_of(dtype::bf16), 32u);
}

TEST(Gemma4Convert, SizeLabelAndName) {
    auto t = [](std::string n, std::vector<int64_t> ne) { return planned_tensor{std::move(n), dtype::f32, std::move(ne), ""}; };
    EXPECT_EQ(size_label_of({t("a", {8199424}), t("rope_freqs.weight", {64})}), "8.2M");
    EXPECT_EQ(size_label_of({t("a", {2263488}), t("rope_freqs.weight", {64})}), "2.3M");
    EXPECT_EQ(size_label_of({t("a", {1000, 31000000})}), "31B");
    EXPECT_EQ(size_label_of({t("a", {500})}), "0.50K");
    // Experts count once per expert: 8 experts of 1000 params plus 500 shared.
    EXPECT_EQ(size_label_of({t("blk.0.ffn_gate_up_exps.weight", {10, 100, 8}), t("x", {500})}), "8x1.5K");
    EXPECT_EQ(name_from_dir("/some/where/target"), "Target");
    EXPECT_EQ(name_from_dir("/models/gemma-4-e2b-it/"), "Gemma 4 E2B It");
    EXPECT_EQ(name_from_dir("/m/Gemma-4-31B-v1.2"), "Gemma 4 31B v1.2");
}

TEST(Gemma4Convert, PlanForPerLayerInputsAndKvSharing) {
    convert_options opt;
    opt.outtype = dtype::q8_0;
    opt.name = "ple";
    opt.n_threads = 1;
    conversion cv = plan_conversion(k_data + "/fixtures/ple_kvshare/hf", opt);
    auto t = by_name(cv);
    ASSERT_TRUE(t.count("rope_freqs.weight"));
    EXPECT_EQ(cv.tensors.front().name, "rope_freqs.weight");
    EXPECT_EQ(t["rope_freqs.weight"].ne, (std::vector<int64_t>{32}));
    EXPECT_EQ(t["token_embd.weight"].ne, (std::vector<int64_t>{64, 1024}));
    EXPECT_EQ(t["token_embd.weight"].type, dtype::q8_0);
    EXPECT_EQ(t["per_layer_token_embd.weight"].ne, (std::vector<int64_t>{96, 1024}));
    EXPECT_EQ(t["per_layer_token_embd.weight"].type, dtype::q8_0);
    EXPECT_EQ(t["per_layer_model_proj.weight"].ne, (std::vector<int64_t>{64, 96}));
    EXPECT_EQ(t["per_layer_model_proj.weight"].type, dtype::f16);  // never quantized
    EXPECT_EQ(t["per_layer_proj_norm.weight"].type, dtype::f32);
    EXPECT_EQ(t["blk.0.inp_gate.weight"].ne, (std::vector<int64_t>{64, 16}));
    EXPECT_EQ(t["blk.0.proj.weight"].ne, (std::vector<int64_t>{16, 64}));
    EXPECT_EQ(t["blk.0.proj.weight"].type, dtype::f16);  // rows of 16 cannot hold q8_0 blocks
    EXPECT_EQ(t["blk.5.ffn_gate.weight"].ne, (std::vector<int64_t>{64, 256}));  // double-wide
    EXPECT_EQ(t["blk.0.layer_output_scale.weight"].ne, (std::vector<int64_t>{1}));
    // KV-shared layers (4, 5) carry no K/V in this checkpoint.
    EXPECT_TRUE(t.count("blk.3.attn_k.weight"));
    EXPECT_FALSE(t.count("blk.4.attn_k.weight"));
    EXPECT_FALSE(t.count("blk.5.attn_v.weight"));
    EXPECT_EQ(t["blk.2.attn_q.weight"].ne, (std::vector<int64_t>{64, 256}));
}

TEST(Gemma4Convert, PlanForExperts) {
    convert_options opt;
    opt.outtype = dtype::f16;
    opt.n_threads = 1;
    conversion cv = plan_conversion(k_data + "/fixtures/moe/hf", opt);
    auto t = by_name(cv);
    EXPECT_EQ(t["blk.0.ffn_gate_up_exps.weight"].ne, (std::vector<int64_t>{64, 96, 8}));
    EXPECT_EQ(t["blk.0.ffn_gate_up_exps.weight"].type, dtype::f16);
    EXPECT_EQ(t["blk.0.ffn_down_exps.weight"].ne, (std::vector<int64_t>{48, 64, 8}));
    EXPECT_EQ(t["blk.0.ffn_gate_inp.weight"].ne, (std::vector<int64_t>{64, 8}));
    EXPECT_EQ(t["blk.0.ffn_gate_inp.weight"].type, dtype::f32);
    EXPECT_EQ(t["blk.0.ffn_gate_inp.scale"].type, dtype::f32);
    EXPECT_EQ(t["blk.0.ffn_down_exps.scale"].ne, (std::vector<int64_t>{8}));
    EXPECT_TRUE(t.count("blk.0.pre_ffw_norm_2.weight"));
    EXPECT_TRUE(t.count("blk.0.post_ffw_norm_1.weight"));
    EXPECT_TRUE(t.count("blk.0.post_ffw_norm_2.weight"));
    EXPECT_FALSE(t.count("blk.2.attn_v.weight"));  // k_eq_v full layer
    EXPECT_TRUE(t.count("blk.1.attn_v.weight"));
}

TEST(Gemma4Convert, PlanForConditionalAndAssistants) {
    convert_options opt;
    opt.n_threads = 1;
    conversion cond = plan_conversion(k_data + "/fixtures/conditional_e2b_like/hf", opt);
    for (const auto& t : cond.tensors) {
        EXPECT_EQ(t.source.find("tower"), std::string::npos) << t.source;
        EXPECT_EQ(t.source.find("embed_vision"), std::string::npos) << t.source;
    }
    EXPECT_GT(cond.skipped.size(), 50u);
    EXPECT_TRUE(by_name(cond).count("per_layer_token_embd.weight"));

    opt.outtype = dtype::q8_0;
    conversion a = plan_conversion(k_data + "/fixtures/ple_kvshare/assistant_hf", opt);
    auto t = by_name(a);
    EXPECT_EQ(t["nextn.pre_projection.weight"].ne, (std::vector<int64_t>{128, 48}));
    EXPECT_EQ(t["nextn.pre_projection.weight"].type, dtype::q8_0);
    EXPECT_EQ(t["nextn.post_projection.weight"].ne, (std::vector<int64_t>{48, 64}));
    EXPECT_EQ(t["nextn.post_projection.weight"].type, dtype::f16);  // rows of 48
    EXPECT_EQ(t["masked_embd_centroids.weight"].ne, (std::vector<int64_t>{48, 16}));
    EXPECT_EQ(t["masked_embd_ordering"].ne, (std::vector<int64_t>{1024}));
    EXPECT_EQ(t["masked_embd_ordering"].type, dtype::f32);
    EXPECT_FALSE(t.count("blk.0.attn_k.weight"));

    conversion dense_a = plan_conversion(k_data + "/fixtures/dense/assistant_hf", opt);
    EXPECT_FALSE(by_name(dense_a).count("masked_embd_centroids.weight"));
}

TEST(Gemma4Convert, MissingDirectoryIsAnError) {
    convert_options opt;
    EXPECT_THROW(plan_conversion(k_data + "/no-such-model", opt), lf::error);
}

TEST(Gemma4Convert, WrittenFileReadsBackThroughOurReader) {
    // The integration tests check the same files with the PyPI gguf reader; here our reader must
    // see exactly the planned names, order, types, shapes and metadata.
    for (const char* fixture : {"ple_kvshare/hf", "moe/hf", "ple_kvshare/assistant_hf"}) {
        convert_options opt;
        opt.outtype = dtype::q4_0;
        opt.n_threads = 2;
        const std::string dir = k_data + "/fixtures/" + fixture;
        conversion cv = plan_conversion(dir, opt);
        const std::string out = ::testing::TempDir() + "/lf-convert-readback.gguf";
        convert_hf_to_gguf(dir, out, opt);
        gguf_file f = gguf_file::open(out);
        ASSERT_EQ(f.tensors.size(), cv.tensors.size()) << fixture;
        for (size_t i = 0; i < f.tensors.size(); ++i) {
            EXPECT_EQ(f.tensors[i].name, cv.tensors[i].name) << fixture;
            EXPECT_EQ(f.tensors[i].type, cv.tensors[i].type) << cv.tensors[i].name;
            EXPECT_EQ(f.tensors[i].ne, cv.tensors[i].ne) << cv.tensors[i].name;
        }
        ASSERT_EQ(f.kv.size(), cv.writer.kv.size()) << fixture;
        for (size_t i = 0; i < f.kv.size(); ++i) {
            EXPECT_EQ(f.kv[i].first, cv.writer.kv[i].first);
            EXPECT_TRUE(f.kv[i].second == cv.writer.kv[i].second) << f.kv[i].first;
        }
        const gguf_tensor* rope = f.find_tensor("rope_freqs.weight");
        ASSERT_NE(rope, nullptr);
        std::vector<float> want = gemma4_rope_freqs(cv.config.text);
        ASSERT_EQ(rope->n_bytes, want.size() * sizeof(float));
        EXPECT_EQ(std::memcmp(rope->data, want.data(), rope->n_bytes), 0);
        std::remove(out.c_str());
    }
}
