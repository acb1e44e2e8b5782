// config.json parsing: the published form (global_head_dim / num_global_key_value_heads), the
// transformers 5 form (per_layer_config) used by the fixtures, nested text_config, assistants,
// defaults, and field-naming errors for bad input.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "convert/hf-config.h"
#include "core/error.h"

using namespace lf;
using json = nlohmann::json;

namespace {

const std::string k_data = LF_TEST_DATA;

hf_model_config published(const std::string& name) { return read_hf_config(k_data + "/configs/gemma-4-" + name + ".json"); }

std::vector<int64_t> full_layers(const gemma4_text_config& c) {
    std::vector<int64_t> out;
    for (int64_t il = 0; il < c.n_layer; ++il)
        if (!c.is_swa[static_cast<size_t>(il)]) out.push_back(il);
    return out;
}

std::string error_of(const json& j) {
    try {
        parse_hf_config(j);
    } catch (const lf::error& e) {
        return e.what();
    }
    return "";
}

json minimal_text() {
    return json{{"architectures", {"Gemma4ForCausalLM"}},
                {"hidden_size", 64},
                {"num_hidden_layers", 6},
                {"num_attention_heads", 4},
                {"num_key_value_heads", 2},
                {"head_dim", 32},
                {"intermediate_size", 128}};
}

}  // namespace

TEST(HfConfig, PublishedE2B) {
    hf_model_config m = published("e2b");
    const auto& c = m.text;
    EXPECT_EQ(m.architecture, "Gemma4ForCausalLM");
    EXPECT_FALSE(m.is_assistant);
    EXPECT_EQ(c.n_layer, 35);
    EXPECT_EQ(c.hidden_size, 1536);
    EXPECT_EQ(c.head_dim_swa, 256);
    EXPECT_EQ(c.head_dim_full, 512);
    EXPECT_EQ(full_layers(c), (std::vector<int64_t>{4, 9, 14, 19, 24, 29, 34}));
    EXPECT_FALSE(c.n_head_kv_per_layer);  // no num_global_key_value_heads on E2B
    for (int64_t n : c.n_head_kv) EXPECT_EQ(n, 1);
    EXPECT_EQ(c.n_kv_shared_layers, 20);
    EXPECT_TRUE(c.has_kv(14));
    EXPECT_FALSE(c.has_kv(15));
    ASSERT_EQ(c.n_ff.size(), 35u);
    EXPECT_EQ(c.n_ff[14], 6144);
    EXPECT_EQ(c.n_ff[15], 12288);  // double-wide on KV-shared layers
    EXPECT_EQ(c.n_ff[34], 12288);
    EXPECT_EQ(c.ple_dim, 256);
    EXPECT_EQ(c.sliding_window, 512);
    EXPECT_EQ(c.max_position_embeddings, 131072);
    EXPECT_DOUBLE_EQ(c.rope_theta_full, 1e6);
    EXPECT_DOUBLE_EQ(c.rope_theta_swa, 1e4);
    EXPECT_DOUBLE_EQ(c.partial_rotary_full, 0.25);
    ASSERT_TRUE(c.final_logit_softcapping);
    EXPECT_DOUBLE_EQ(*c.final_logit_softcapping, 30.0);
}

TEST(HfConfig, PublishedKeqVModelsHavePerLayerKvHeads) {
    struct row {
        const char* name;
        int64_t n_layer, kv_swa, kv_full;
    };
    for (const row& r : {row{"12b", 48, 8, 1}, row{"26b-a4b", 30, 8, 2}, row{"31b", 60, 16, 4}}) {
        const auto c = published(r.name).text;
        EXPECT_EQ(c.n_layer, r.n_layer) << r.name;
        EXPECT_TRUE(c.k_eq_v) << r.name;
        EXPECT_TRUE(c.n_head_kv_per_layer) << r.name;
        for (int64_t il = 0; il < c.n_layer; ++il)
            EXPECT_EQ(c.n_head_kv[static_cast<size_t>(il)], c.is_swa[static_cast<size_t>(il)] ? r.kv_swa : r.kv_full)
                << r.name << " layer " << il;
        EXPECT_EQ(full_layers(c).back(), r.n_layer - 1);
        EXPECT_EQ(c.sliding_window, 1024);
    }
    const auto moe = published("26b-a4b").text;
    EXPECT_TRUE(moe.moe);
    EXPECT_EQ(moe.n_expert, 128);
    EXPECT_EQ(moe.n_expert_used, 8);
    EXPECT_EQ(moe.expert_ff, 704);
    EXPECT_EQ(moe.intermediate_size, 2112);
}

TEST(HfConfig, PublishedAssistants) {
    for (const char* name : {"e2b-assistant", "e4b-assistant", "12b-assistant", "26b-a4b-assistant", "31b-assistant"}) {
        hf_model_config m = published(name);
        ASSERT_TRUE(m.assistant) << name;
        EXPECT_TRUE(m.is_assistant);
        EXPECT_TRUE(m.nested_text);
        EXPECT_EQ(m.text.n_layer, 4);
        EXPECT_EQ(m.text.n_kv_shared_layers, 4);
        EXPECT_EQ(full_layers(m.text), (std::vector<int64_t>{3}));
        EXPECT_FALSE(m.text.final_logit_softcapping);
        EXPECT_EQ(m.assistant->num_centroids, 2048);
        EXPECT_EQ(m.assistant->centroid_top_k, 32);
    }
    EXPECT_EQ(published("e2b-assistant").assistant->backbone_hidden_size, 1536);
    EXPECT_TRUE(published("e2b-assistant").assistant->use_ordered_embeddings);
    EXPECT_FALSE(published("31b-assistant").assistant->use_ordered_embeddings);
    const auto c31 = published("31b-assistant").text;
    EXPECT_EQ(c31.n_head_kv, (std::vector<int64_t>{16, 16, 16, 4}));
    EXPECT_EQ(c31.hidden_size, 1024);
}

TEST(HfConfig, FixturePerLayerConfigForm) {
    // dense: per_layer_config gives the full layers head_dim 64 and 1 KV head.
    const auto dense = read_hf_config(k_data + "/fixtures/dense/hf").text;
    EXPECT_EQ(dense.head_dim_swa, 32);
    EXPECT_EQ(dense.head_dim_full, 64);
    EXPECT_TRUE(dense.n_head_kv_per_layer);
    EXPECT_EQ(dense.n_head_kv, (std::vector<int64_t>{2, 2, 1, 2, 2, 1}));
    EXPECT_EQ(dense.sliding_window, 8);
    // ple_kvshare: head_dim only, so one KV-head count for all layers; double-wide shared layers.
    const auto ple = read_hf_config(k_data + "/fixtures/ple_kvshare/hf").text;
    EXPECT_FALSE(ple.n_head_kv_per_layer);
    EXPECT_EQ(ple.n_head_kv, (std::vector<int64_t>(6, 2)));
    EXPECT_EQ(ple.head_dim_full, 64);
    EXPECT_EQ(ple.n_ff, (std::vector<int64_t>{128, 128, 128, 128, 256, 256}));
    EXPECT_EQ(ple.ple_dim, 16);
    EXPECT_FALSE(ple.final_logit_softcapping);
    // moe
    const auto moe = read_hf_config(k_data + "/fixtures/moe/hf").text;
    EXPECT_TRUE(moe.moe);
    EXPECT_EQ(moe.n_expert, 8);
    EXPECT_EQ(moe.n_expert_used, 2);
    EXPECT_EQ(moe.expert_ff, 48);
    // conditional: the text model is nested under text_config.
    const auto cond = read_hf_config(k_data + "/fixtures/conditional_e2b_like/hf");
    EXPECT_EQ(cond.architecture, "Gemma4ForConditionalGeneration");
    EXPECT_TRUE(cond.nested_text);
    EXPECT_EQ(cond.text.ple_dim, 16);
    EXPECT_EQ(cond.text.n_kv_shared_layers, 2);
    // assistants
    const auto a_dense = read_hf_config(k_data + "/fixtures/dense/assistant_hf");
    ASSERT_TRUE(a_dense.assistant);
    EXPECT_EQ(a_dense.assistant->backbone_hidden_size, 64);
    EXPECT_FALSE(a_dense.assistant->use_ordered_embeddings);
    EXPECT_EQ(a_dense.text.n_head_kv, (std::vector<int64_t>{2, 2, 2, 1}));
    const auto a_ple = read_hf_config(k_data + "/fixtures/ple_kvshare/assistant_hf");
    EXPECT_TRUE(a_ple.assistant->use_ordered_embeddings);
    EXPECT_EQ(a_ple.assistant->num_centroids, 16);
    EXPECT_EQ(a_ple.assistant->centroid_top_k, 4);
    EXPECT_FALSE(a_ple.text.n_head_kv_per_layer);
}

TEST(HfConfig, BothFormsAgreeOnTheTinyPair) {
    // The tiny trained pair's config carries both forms; they must agree with gguf-example.md.
    const auto t = read_hf_config(k_data + "/tiny-gemma4/target").text;
    EXPECT_EQ(t.n_head_kv, (std::vector<int64_t>{2, 2, 1, 2, 2, 1}));
    EXPECT_EQ(t.head_dim_full, 128);
    json j = json::parse(R"({"architectures":["Gemma4ForCausalLM"],"hidden_size":256,"num_hidden_layers":6,
        "num_attention_heads":4,"num_key_value_heads":2,"head_dim":64,"intermediate_size":1024,
        "attention_k_eq_v":true,"global_head_dim":128,"num_global_key_value_heads":1,
        "layer_types":["sliding_attention","sliding_attention","full_attention","sliding_attention",
                       "sliding_attention","full_attention"]})");
    const auto published_form = parse_hf_config(j).text;
    EXPECT_EQ(published_form.n_head_kv, t.n_head_kv);
    EXPECT_EQ(published_form.head_dim, t.head_dim);
    EXPECT_EQ(published_form.is_swa, t.is_swa);
}

TEST(HfConfig, GlobalKvHeadsApplyOnlyWithKeqV) {
    json j = minimal_text();
    j["num_global_key_value_heads"] = 1;
    j["attention_k_eq_v"] = false;
    auto c = parse_hf_config(j).text;
    EXPECT_FALSE(c.n_head_kv_per_layer);
    EXPECT_EQ(c.n_head_kv, (std::vector<int64_t>(6, 2)));
    j["attention_k_eq_v"] = true;
    c = parse_hf_config(j).text;
    EXPECT_TRUE(c.n_head_kv_per_layer);
    EXPECT_EQ(c.n_head_kv, (std::vector<int64_t>{2, 2, 2, 2, 2, 1}));
}

TEST(HfConfig, Defaults) {
    json j = minimal_text();
    j["num_hidden_layers"] = 8;
    auto c = parse_hf_config(j).text;
    // Every 6th layer is full and the last one is forced full.
    EXPECT_EQ(full_layers(c), (std::vector<int64_t>{5, 7}));
    EXPECT_EQ(c.head_dim_full, 32);  // no global_head_dim: same as head_dim
    EXPECT_EQ(c.vocab_size, 262144);
    EXPECT_EQ(c.n_kv_shared_layers, 0);
    EXPECT_FALSE(c.final_logit_softcapping);
    EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-6);
    // layer_types whose last entry is sliding gets a full last layer anyway.
    j["num_hidden_layers"] = 2;
    j["layer_types"] = {"sliding_attention", "sliding_attention"};
    c = parse_hf_config(j).text;
    EXPECT_EQ(c.is_swa, (std::vector<bool>{true, false}));
    // model_type alone identifies the architecture.
    j.erase("architectures");
    j["model_type"] = "gemma4_text";
    EXPECT_EQ(parse_hf_config(j).architecture, "Gemma4ForCausalLM");
}

TEST(HfConfig, ErrorsNameTheField) {
    json j = minimal_text();
    j.erase("hidden_size");
    EXPECT_NE(error_of(j).find("hidden_size"), std::string::npos) << error_of(j);
    j = minimal_text();
    j["num_attention_heads"] = "four";
    EXPECT_NE(error_of(j).find("num_attention_heads"), std::string::npos) << error_of(j);
    j = minimal_text();
    j["num_hidden_layers"] = 0;
    EXPECT_NE(error_of(j).find("num_hidden_layers"), std::string::npos);
    j = minimal_text();
    j["layer_types"] = {"sliding_attention"};
    EXPECT_NE(error_of(j).find("layer_types"), std::string::npos);
    j = minimal_text();
    j["layer_types"] = {"sliding_attention", "sliding_attention", "chunked", "sliding_attention", "sliding_attention",
                        "full_attention"};
    EXPECT_NE(error_of(j).find("layer_types[2]"), std::string::npos) << error_of(j);
    j = minimal_text();
    j["per_layer_config"] = {{"9", {{"head_dim", 64}}}};
    EXPECT_NE(error_of(j).find("per_layer_config key '9'"), std::string::npos) << error_of(j);
    j = minimal_text();
    j["per_layer_config"] = {{"1", {{"head_dim", 64}}}};  // one sliding layer differs from the others
    EXPECT_NE(error_of(j).find("head_dim"), std::string::npos) << error_of(j);
    j = minimal_text();
    j["num_key_value_heads"] = 3;  // 4 query heads are not a multiple of 3
    EXPECT_NE(error_of(j).find("KV heads"), std::string::npos) << error_of(j);
    j = minimal_text();
    j["architectures"] = {"LlamaForCausalLM"};
    EXPECT_NE(error_of(j).find("LlamaForCausalLM"), std::string::npos);
    j = minimal_text();
    j["enable_moe_block"] = true;
    EXPECT_NE(error_of(j).find("num_experts"), std::string::npos) << error_of(j);
    j = minimal_text();
    j["rope_parameters"] = {{"full_attention", {{"rope_type", "yarn"}}}};
    EXPECT_NE(error_of(j).find("yarn"), std::string::npos) << error_of(j);
    j = minimal_text();
    j["hidden_size"] = int64_t(1) << 40;
    EXPECT_NE(error_of(j).find("hidden_size"), std::string::npos);
    json a = {{"architectures", {"Gemma4AssistantForCausalLM"}}, {"text_config", minimal_text()}};
    EXPECT_NE(error_of(a).find("backbone_hidden_size"), std::string::npos) << error_of(a);
    a.erase("text_config");
    EXPECT_NE(error_of(a).find("text_config"), std::string::npos);
    EXPECT_THROW(read_hf_config(k_data + "/no-such-dir"), lf::error);
}
