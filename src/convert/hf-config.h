// Gemma 4 Hugging Face config.json → the hyperparameters the converter needs.
//
// Reads both serialized forms: published checkpoints (`global_head_dim`,
// `num_global_key_value_heads`) and transformers 5 (`per_layer_config`: layer index →
// {head_dim, num_key_value_heads}); the text config may be top-level (Gemma4ForCausalLM) or nested
// as `text_config` (conditional-generation models and assistants). After parsing, every per-layer
// vector has n_layer entries, the last layer is full attention, all sliding layers share one head
// dim and all full layers share another. The JSON is untrusted: a missing or mistyped field is an
// lf::error naming it.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace lf {

struct gemma4_text_config {
    int64_t vocab_size = 0;
    int64_t hidden_size = 0;                // H
    int64_t n_layer = 0;
    int64_t n_head = 0;                     // query heads, every layer
    int64_t intermediate_size = 0;          // dense MLP width (before double-wide)
    int64_t head_dim_swa = 0;               // D_s
    int64_t head_dim_full = 0;              // D_f
    int64_t max_position_embeddings = 0;
    int64_t sliding_window = 0;
    int64_t n_kv_shared_layers = 0;
    int64_t ple_dim = 0;                    // hidden_size_per_layer_input (P), 0 = no PLE
    int64_t vocab_size_per_layer_input = 0;
    bool double_wide_mlp = false;
    bool k_eq_v = false;
    bool moe = false;
    int64_t n_expert = 0;
    int64_t n_expert_used = 0;
    int64_t expert_ff = 0;                  // moe_intermediate_size
    double rms_norm_eps = 1e-6;
    std::optional<double> final_logit_softcapping;
    double rope_theta_full = 1e6;
    double rope_theta_swa = 1e4;
    double partial_rotary_full = 1.0;       // fraction of D_f that rotates ("proportional" rope)
    double partial_rotary_swa = 1.0;        // top-level partial_rotary_factor, as llama.cpp reads it

    // Per layer.
    std::vector<bool> is_swa;               // layer_types == sliding_attention
    std::vector<int64_t> head_dim;          // D_s or D_f
    std::vector<int64_t> n_head_kv;
    std::vector<int64_t> n_ff;              // intermediate size, doubled on KV-shared layers when double-wide
    // True when full layers carry their own KV-head count (num_global_key_value_heads applied, or
    // per_layer_config num_key_value_heads): head_count_kv is then written per layer.
    bool n_head_kv_per_layer = false;

    bool has_kv(int64_t il) const { return il < n_layer - n_kv_shared_layers; }
};

struct gemma4_assistant_config {
    int64_t backbone_hidden_size = 0;       // B, the target's hidden size
    bool use_ordered_embeddings = false;
    int64_t num_centroids = 0;
    int64_t centroid_top_k = 0;
};

struct hf_model_config {
    std::string architecture;               // architectures[0]
    bool is_assistant = false;
    bool nested_text = false;               // text config was under text_config
    gemma4_text_config text;
    std::optional<gemma4_assistant_config> assistant;
};

// Parses a whole config.json object. Throws lf::error naming the field on bad input.
hf_model_config parse_hf_config(const nlohmann::json& j);
// Reads and parses HF_DIR/config.json (or a path to a .json file).
hf_model_config read_hf_config(const std::string& path);

// Parses a text config object alone (the Gemma4TextConfig fields). `assistant` applies the
// assistant's post-init rule: every layer is KV-shared.
gemma4_text_config parse_text_config(const nlohmann::json& j, bool assistant);

}  // namespace lf
