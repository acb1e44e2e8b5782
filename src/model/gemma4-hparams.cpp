#include "model/gemma4-hparams.h"

#include "core/error.h"

namespace lf {

namespace {

// A per-layer integer key stored either as one scalar or as an array of n_layer values.
std::vector<int64_t> per_layer(const gguf_file& f, const std::string& key, int n_layer) {
    const gguf_value* v = f.find(key);
    if (!v) fail("missing metadata key '{}'", key);
    if (v->type == gguf_type::arr) {
        auto a = f.get_int_array(key);
        if ((int)a.size() != n_layer) fail("key '{}' has {} entries, expected block_count = {}", key, a.size(), n_layer);
        return a;
    }
    return std::vector<int64_t>(n_layer, f.get_int(key));
}

int64_t positive(const std::string& key, int64_t v, int64_t max = int64_t(1) << 40) {
    if (v <= 0 || v > max) fail("key '{}' = {} is out of range", key, v);
    return v;
}

}  // namespace

int gemma4_hparams::kv_source_layer(int il) const {
    int first_shared = n_layer_kv();
    if (il < first_shared) return il;
    for (int j = first_shared - 1; j >= 0; --j)
        if (is_sliding[j] == is_sliding[il]) return j;
    fail("layer {} shares KV but no earlier layer of its type owns any", il);
}

gemma4_hparams gemma4_hparams::load(const gguf_file& f) {
    gemma4_hparams hp;
    hp.arch = f.get_str("general.architecture");
    if (hp.arch != "gemma4" && hp.arch != "gemma4-assistant")
        fail("unsupported architecture '{}' (expected gemma4 or gemma4-assistant)", hp.arch);
    const std::string a = hp.arch + ".";
    hp.n_embd = positive(a + "embedding_length", f.get_int(a + "embedding_length"), 1 << 20);
    hp.n_layer = (int)positive(a + "block_count", f.get_int(a + "block_count"), 1024);
    hp.n_head = (int)positive(a + "attention.head_count", f.get_int(a + "attention.head_count"), 1024);
    for (int64_t v : per_layer(f, a + "attention.head_count_kv", hp.n_layer)) {
        positive(a + "attention.head_count_kv", v, 1024);
        if (hp.n_head % v != 0) fail("head_count {} is not a multiple of head_count_kv {}", hp.n_head, v);
        hp.n_head_kv.push_back((int)v);
    }
    for (int64_t v : per_layer(f, a + "feed_forward_length", hp.n_layer))
        hp.n_ff.push_back(positive(a + "feed_forward_length", v, 1 << 24));
    auto pattern = f.get_int_array(a + "attention.sliding_window_pattern");
    if ((int)pattern.size() != hp.n_layer)
        fail("key '{}attention.sliding_window_pattern' has {} entries, expected {}", a, pattern.size(), hp.n_layer);
    for (int64_t p : pattern) hp.is_sliding.push_back(p != 0);
    hp.head_dim_full = (int)positive(a + "attention.key_length", f.get_int(a + "attention.key_length"), 4096);
    hp.head_dim_swa = (int)positive(a + "attention.key_length_swa", f.get_int(a + "attention.key_length_swa"), 4096);
    if (f.get_int(a + "attention.value_length") != hp.head_dim_full ||
        f.get_int(a + "attention.value_length_swa") != hp.head_dim_swa)
        fail("value_length must equal key_length (Gemma 4 uses one head dim per layer type)");
    if (hp.head_dim_full % 2 || hp.head_dim_swa % 2) fail("head dims must be even for RoPE");
    hp.sliding_window = (int)positive(a + "attention.sliding_window", f.get_int(a + "attention.sliding_window"), 1 << 24);
    hp.n_shared_kv_layers = (int)f.opt_int(a + "attention.shared_kv_layers").value_or(0);
    if (hp.n_shared_kv_layers < 0 || hp.n_shared_kv_layers > hp.n_layer)
        fail("shared_kv_layers = {} is out of range", hp.n_shared_kv_layers);
    hp.rms_eps = (float)f.get_float(a + "attention.layer_norm_rms_epsilon");
    hp.rope_base_full = (float)f.opt_float(a + "rope.freq_base").value_or(1e6);
    hp.rope_base_swa = (float)f.opt_float(a + "rope.freq_base_swa").value_or(1e4);
    hp.rope_dims_full = (int)f.opt_int(a + "rope.dimension_count").value_or(hp.head_dim_full);
    hp.rope_dims_swa = (int)f.opt_int(a + "rope.dimension_count_swa").value_or(hp.head_dim_swa);
    if (hp.rope_dims_full != hp.head_dim_full || hp.rope_dims_swa != hp.head_dim_swa)
        fail("rope.dimension_count ({}/{}) must equal the head dims ({}/{})", hp.rope_dims_full, hp.rope_dims_swa,
             hp.head_dim_full, hp.head_dim_swa);
    hp.n_embd_per_layer = f.opt_int(a + "embedding_length_per_layer_input").value_or(0);
    if (hp.n_embd_per_layer < 0 || hp.n_embd_per_layer > (1 << 16)) fail("embedding_length_per_layer_input out of range");
    hp.final_softcap = (float)f.opt_float(a + "final_logit_softcapping").value_or(0.0);
    hp.n_expert = (int)f.opt_int(a + "expert_count").value_or(0);
    hp.n_expert_used = (int)f.opt_int(a + "expert_used_count").value_or(0);
    hp.n_ff_expert = f.opt_int(a + "expert_feed_forward_length").value_or(0);
    if (hp.n_expert < 0 || hp.n_expert > 4096 || hp.n_expert_used < 0 || hp.n_expert_used > hp.n_expert ||
        (hp.n_expert > 0 && (hp.n_expert_used == 0 || hp.n_ff_expert <= 0)))
        fail("inconsistent expert keys: expert_count {}, expert_used_count {}, expert_feed_forward_length {}",
             hp.n_expert, hp.n_expert_used, hp.n_ff_expert);
    hp.context_length = f.opt_int(a + "context_length").value_or(0);
    if (hp.arch == "gemma4-assistant") {
        hp.n_embd_out = positive(a + "embedding_length_out", f.get_int(a + "embedding_length_out"), 1 << 20);
        if (hp.n_shared_kv_layers != hp.n_layer)
            fail("assistant shared_kv_layers = {} must equal block_count = {}", hp.n_shared_kv_layers, hp.n_layer);
    } else {
        // Every KV-shared layer must find a donor of its own type.
        for (int il = hp.n_layer_kv(); il < hp.n_layer; ++il) hp.kv_source_layer(il);
    }
    if (const gguf_value* v = f.find("tokenizer.ggml.suppress_tokens"))
        if (v->type == gguf_type::arr)
            for (int64_t t : f.get_int_array("tokenizer.ggml.suppress_tokens")) hp.suppress_tokens.push_back((int32_t)t);
    return hp;
}

}  // namespace lf
