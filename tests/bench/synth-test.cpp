// leapfrog synth: shrinking published configs keeps them loadable, the stand-in tokenizer is a
// valid gemma4 vocabulary, the tensor plan follows the converter's rules, and the written file is
// deterministic, has the intended value scales and runs through the regular model loader.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "convert/synth-model.h"
#include "convert/synth-vocab.h"
#include "core/error.h"
#include "core/thread-pool.h"
#include "model/gemma4.h"
#include "quant/quant.h"
#include "tokenizer/tokenizer.h"

using namespace lf;
using json = nlohmann::json;

namespace {

const std::string k_configs = std::string(LF_TEST_DATA) + "/configs/";

json load(const std::string& name) {
    std::ifstream in(k_configs + name);
    return json::parse(in);
}

std::string temp_path(const std::string& name) {
    return (std::filesystem::temp_directory_path() / ("lf-synth-" + std::to_string(getpid()) + "-" + name)).string();
}

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every KV-shared layer has an earlier non-shared layer of its type (the loader's rule).
void expect_donors(const gemma4_text_config& c) {
    const int64_t first = c.n_layer - c.n_kv_shared_layers;
    EXPECT_GE(first, 1);
    for (int64_t il = first; il < c.n_layer; ++il) {
        bool donor = false;
        for (int64_t j = 0; j < first; ++j) donor |= c.is_swa[j] == c.is_swa[il];
        EXPECT_TRUE(donor) << "layer " << il;
    }
}

}  // namespace

TEST(SynthConfig, ShrinkKeepsTheLastLayersAndValidSharing) {
    const json e2b = load("gemma-4-e2b.json");
    for (int64_t n : {1, 2, 3, 5, 10, 20, 35}) {
        hf_model_config m = parse_hf_config(shrink_config(e2b, n, 0));
        EXPECT_EQ(m.text.n_layer, n);
        EXPECT_FALSE(m.text.is_swa.back()) << "last layer must stay full attention, n=" << n;
        expect_donors(m.text);
    }
    EXPECT_EQ(parse_hf_config(shrink_config(e2b, 35, 0)).text.n_kv_shared_layers, 20);
    EXPECT_EQ(parse_hf_config(shrink_config(e2b, 2, 0)).text.n_kv_shared_layers, 0);
    EXPECT_GT(parse_hf_config(shrink_config(e2b, 10, 0)).text.n_kv_shared_layers, 0);

    hf_model_config a = parse_hf_config(shrink_config(load("gemma-4-e2b-assistant.json"), 2, 4096));
    EXPECT_EQ(a.text.n_layer, 2);
    EXPECT_EQ(a.text.n_kv_shared_layers, 2);  // assistants read only the target's KV
    EXPECT_EQ(a.text.vocab_size, 4096);

    hf_model_config v = parse_hf_config(shrink_config(e2b, 0, 1024));
    EXPECT_EQ(v.text.vocab_size, 1024);
    EXPECT_EQ(v.text.vocab_size_per_layer_input, 1024);
}

TEST(SynthConfig, BadCountsAreErrors) {
    EXPECT_THROW(shrink_config(load("gemma-4-e2b.json"), 36, 0), lf::error);
    try {
        shrink_config(load("gemma-4-e2b-assistant.json"), 0, 1000);
        FAIL() << "vocab not divisible by the centroid count accepted";
    } catch (const lf::error& e) {
        EXPECT_NE(std::string(e.what()).find("num_centroids"), std::string::npos) << e.what();
    }
}

TEST(SynthVocab, IsAValidGemma4Vocabulary) {
    EXPECT_THROW(synth_vocab(synth_vocab_min_size() - 1), lf::error);
    for (int64_t n : {synth_vocab_min_size(), int64_t{4096}, int64_t{262144}}) {
        vocab v = synth_vocab(n);
        EXPECT_EQ(v.n_tokens(), n);
        std::set<std::string> unique(v.tokens.begin(), v.tokens.end());
        EXPECT_EQ(static_cast<int64_t>(unique.size()), n);
        for (const auto& m : v.merges) {
            size_t sp = m.find(' ');
            ASSERT_NE(sp, std::string::npos);
            EXPECT_TRUE(unique.count(m.substr(0, sp)) && unique.count(m.substr(sp + 1)) &&
                        unique.count(m.substr(0, sp) + m.substr(sp + 1)))
                << m;
        }
        tokenizer tok(v);
        EXPECT_EQ(tok.bos_id(), 2);
        EXPECT_EQ(tok.eos_id(), 1);
        EXPECT_EQ(tok.token_text(4), "<|turn>");
        EXPECT_EQ(tok.token_text(16), "<0x00>");
        const std::string text = "the quick brown fox, 42!\nNext line: caf\xC3\xA9.";
        std::vector<int32_t> ids = tok.tokenize(text, true, false);
        EXPECT_EQ(ids.front(), 2);
        EXPECT_EQ(tok.decode(ids, false), text);  // non-ASCII goes through byte fallback
        if (n >= 4096) {
            EXPECT_LT(ids.size(), text.size());  // merges shorten words
        }
    }
}

TEST(SynthPlan, FollowsTheConverterRules) {
    synth_options opt;
    opt.type = dtype::q4_0;
    opt.n_layers = 10;
    opt.n_vocab = 4096;
    synth_plan p = plan_synth(load("gemma-4-e2b.json"), k_configs + "gemma-4-e2b.json", opt);
    const auto& c = p.config.text;
    ASSERT_GT(c.n_kv_shared_layers, 0);
    std::set<std::string> names;
    for (const auto& t : p.tensors) {
        EXPECT_TRUE(names.insert(t.name).second) << "duplicate " << t.name;
        const bool is_norm = t.name.size() > 12 && t.name.compare(t.name.size() - 12, 12, "_norm.weight") == 0;
        if (t.ne.size() == 1 || is_norm) {
            EXPECT_EQ(t.type, dtype::f32) << t.name;
        }
    }
    for (int64_t il = 0; il < c.n_layer; ++il) {
        const std::string b = "blk." + std::to_string(il) + ".";
        EXPECT_EQ(names.count(b + "attn_k.weight"), c.has_kv(il) ? 1u : 0u) << il;
        EXPECT_EQ(names.count(b + "attn_v.weight"), c.has_kv(il) ? 1u : 0u) << il;
        EXPECT_EQ(names.count(b + "inp_gate.weight"), 1u);
        EXPECT_EQ(names.count(b + "layer_output_scale.weight"), 1u);
    }
    EXPECT_EQ(names.count("blk.10.attn_q.weight"), 0u);
    for (const auto& t : p.tensors) {
        if (t.name == "token_embd.weight") {
            EXPECT_EQ(t.type, dtype::q8_0);  // llama-quantize's output-tensor rule
        }
        if (t.name == "per_layer_model_proj.weight") {
            EXPECT_EQ(t.type, dtype::f16);
        }
        if (t.name == "blk.0.ffn_up.weight") {
            EXPECT_EQ(t.type, dtype::q4_0);
        }
    }
    // The 26B MoE plan carries the expert stacks; assistants the projections and centroid head.
    synth_options small;
    small.n_layers = 1;
    small.n_vocab = 2048;
    synth_plan moe = plan_synth(load("gemma-4-26b-a4b.json"), "gemma-4-26b-a4b.json", small);
    std::set<std::string> mn;
    for (const auto& t : moe.tensors) mn.insert(t.name);
    for (const char* n : {"blk.0.ffn_gate_up_exps.weight", "blk.0.ffn_down_exps.weight", "blk.0.ffn_gate_inp.weight",
                          "blk.0.ffn_down_exps.scale"})
        EXPECT_EQ(mn.count(n), 1u) << n;
    synth_options head;
    head.type = dtype::q8_0;
    head.n_vocab = 4096;
    synth_plan a = plan_synth(load("gemma-4-e2b-assistant.json"), "a.json", head);
    std::set<std::string> an;
    for (const auto& t : a.tensors) an.insert(t.name);
    for (const char* n : {"nextn.pre_projection.weight", "nextn.post_projection.weight", "masked_embd_centroids.weight",
                          "masked_embd_ordering"})
        EXPECT_EQ(an.count(n), 1u) << n;
    EXPECT_EQ(an.count("blk.0.attn_k.weight"), 0u);
}

TEST(SynthModel, DeterministicScaledAndLoadable) {
    const std::string cfg = k_configs + "gemma-4-e2b.json";
    synth_options opt;
    opt.type = dtype::f32;
    opt.n_layers = 2;
    opt.n_vocab = 512;
    opt.seed = 11;
    opt.n_threads = 1;
    const std::string a = temp_path("a.gguf"), b = temp_path("b.gguf"), c = temp_path("c.gguf");
    synth_model(cfg, a, opt);
    opt.n_threads = 2;
    synth_model(cfg, b, opt);
    opt.seed = 12;
    synth_model(cfg, c, opt);
    EXPECT_EQ(file_bytes(a), file_bytes(b)) << "bytes depend on the thread count";
    EXPECT_NE(file_bytes(a), file_bytes(c)) << "the seed changes nothing";

    gguf_file f = gguf_file::open(a);
    EXPECT_EQ(f.get_str("general.architecture"), "gemma4");
    EXPECT_EQ(f.get_str("tokenizer.ggml.model"), "gemma4");
    EXPECT_EQ(f.get_str_array("tokenizer.ggml.tokens").size(), 512u);
    auto stats = [&](const std::string& name) {
        const gguf_tensor* t = f.find_tensor(name);
        EXPECT_NE(t, nullptr) << name;
        const float* v = reinterpret_cast<const float*>(t->data);
        double s = 0, s2 = 0;
        const int64_t n = t->n_elements();
        for (int64_t i = 0; i < n; ++i) {
            EXPECT_TRUE(std::isfinite(v[i])) << name;
            s += v[i];
            s2 += double(v[i]) * v[i];
        }
        double mean = s / n;
        return std::pair<double, double>{mean, std::sqrt(s2 / n - mean * mean)};
    };
    auto [qm, qs] = stats("blk.0.attn_q.weight");
    EXPECT_NEAR(qm, 0, 0.01 / std::sqrt(1536.0) * 10);
    EXPECT_NEAR(qs, 1 / std::sqrt(1536.0), 0.03 / std::sqrt(1536.0));
    auto [dm, ds] = stats("blk.0.ffn_down.weight");
    EXPECT_NEAR(ds, 1 / std::sqrt(6144.0), 0.03 / std::sqrt(6144.0));
    auto [pm, ps] = stats("per_layer_token_embd.weight");
    EXPECT_NEAR(ps, 1 / std::sqrt(256.0), 0.03 / std::sqrt(256.0));
    auto [nm, ns] = stats("blk.0.attn_norm.weight");
    EXPECT_NEAR(nm, 1.0, 0.01);
    EXPECT_NEAR(ns, 0.02, 0.005);
    auto [lm, ls] = stats("blk.1.layer_output_scale.weight");
    EXPECT_NEAR(lm, 1.0, 0.1);

    // The regular loader accepts it and a forward gives finite logits.
    gemma4_model model(a);
    kv_cache kv = model.make_cache(1, 64, 8);
    thread_pool pool(2);
    forward_output out;
    model.forward({{2, 0, 0, false}, {300, 1, 0, false}, {301, 2, 0, true}}, kv, out, true, pool);
    ASSERT_EQ(out.logits.size(), 512u);
    for (float x : out.logits) ASSERT_TRUE(std::isfinite(x));
    for (const auto& p : {a, b, c}) std::filesystem::remove(p);
}
