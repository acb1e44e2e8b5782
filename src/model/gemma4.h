// The Gemma 4 text model (GGUF architecture "gemma4") on the CPU: sliding and full attention
// layers with their own head dims and KV-head counts, proportional RoPE on full layers,
// attention_k_eq_v, q/k/v norms, per-layer embeddings, KV sharing, double-wide MLP, mixture of
// experts, layer_scalar and the final soft-cap (spec §2).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/thread-pool.h"
#include "gguf/gguf.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kv/kv-cache.h"
#include "model/batch.h"
#include "model/gemma4-hparams.h"
#include "model/packed-weights.h"

namespace lf {

struct gemma4_layer {
    std::vector<float> attn_norm;        // f32 [n_embd]
    weight_view wq;                      // [n_embd -> n_head * head_dim]
    weight_view wk, wv;                  // [n_embd -> n_head_kv * head_dim]; absent on KV-shared layers, wv absent with k_eq_v
    weight_view wo;                      // [n_head * head_dim -> n_embd]
    std::vector<float> q_norm, k_norm;   // f32 [head_dim]
    std::vector<float> post_attn_norm;   // f32 [n_embd]
    std::vector<float> ffn_norm;         // f32 [n_embd] (pre_feedforward_layernorm)
    weight_view ffn_gate, ffn_up;        // [n_embd -> n_ff]
    weight_view ffn_down;                // [n_ff -> n_embd]
    std::vector<float> post_ffw_norm;    // f32 [n_embd]
    float layer_scalar = 1.0f;
    // per-layer embeddings (PLE)
    weight_view inp_gate;                // [n_embd -> P]
    weight_view proj;                    // [P -> n_embd]
    std::vector<float> post_norm;        // f32 [n_embd]
    // mixture of experts
    weight_view router;                  // f32 [n_embd -> n_expert]
    std::vector<float> router_scale;     // f32 [n_embd]
    std::vector<float> expert_scale;     // f32 [n_expert]
    std::vector<float> pre_ffw_norm_2, post_ffw_norm_1, post_ffw_norm_2;  // f32 [n_embd]
    weight_view gate_up_exps;            // expert 0 of [n_expert][n_embd -> 2 * n_ff_expert]
    weight_view down_exps;               // expert 0 of [n_expert][n_ff_expert -> n_embd]
    bool has_kv = false;
    bool has_v = false;
};

class gemma4_model {
public:
    // Loads and checks every tensor; keeps the file mapped (or, with file_load::copy, reads it
    // into huge-page memory). Throws lf::error naming a missing or mis-shaped tensor.
    explicit gemma4_model(const std::string& path, file_load how = file_load::map);
    explicit gemma4_model(std::shared_ptr<const gguf_file> file);

    const gemma4_hparams& hparams() const { return hp_; }
    const gguf_file& file() const { return *file_; }
    // The matrices packed for the kernels at load time (packed-weights.h).
    const packed_weights& packed() const { return packed_; }

    // A cache that fits this model: n_slots sequences of n_ctx_slot positions each, batches of
    // up to max_batch rows per slot.
    kv_cache make_cache(int n_slots, int n_ctx_slot, int max_batch) const;
    // The cache layer that model layer il reads (its own, or its KV donor's).
    int cache_layer(int il) const { return cache_layer_of_[il]; }

    // Evaluates the batch, appending K/V to the cache; fills out for rows with output set.
    void forward(const std::vector<batch_row>& batch, kv_cache& kv, forward_output& out, bool want_hidden,
                 thread_pool& pool);

    // Target embedding of a token times `scale` (the drafter uses scale = sqrt(n_embd)). [n_embd]
    void embed(int32_t token, float scale, float* out) const;

    // Inverse RoPE frequencies: f32 [head_dim / 2] for sliding or full layers.
    const std::vector<float>& inv_freq(bool sliding) const { return sliding ? inv_freq_swa_ : inv_freq_full_; }

private:
    void load();
    void forward_chunk(const batch_row* rows, int n, kv_cache& kv, forward_output& out, bool want_hidden,
                       int row_base, thread_pool& pool);
    void attention_layer(int il, const batch_row* rows, int n, kv_cache& kv, thread_pool& pool);
    void ffn_dense(const weight_view& gate, const weight_view& up, const weight_view& down, int64_t n_ff,
                   const float* x, int n, float* y, thread_pool& pool);
    void ffn_moe(const gemma4_layer& L, const float* x, int n, float* y, thread_pool& pool);

    std::shared_ptr<const gguf_file> file_;
    packed_weights packed_;                 // matrices packed for the kernels at load time, if any
    gemma4_hparams hp_;
    weight_view tok_embd_;                  // [n_embd -> n_vocab] (tied output)
    std::vector<float> output_norm_;        // f32 [n_embd]
    weight_view ple_embd_;                  // [n_layer * P -> n_vocab] token table of PLE
    weight_view ple_model_proj_;            // [n_embd -> n_layer * P]
    std::vector<float> ple_proj_norm_;      // f32 [P]
    std::vector<gemma4_layer> layers_;
    std::vector<int> cache_layer_of_;
    std::vector<float> inv_freq_full_, inv_freq_swa_;

    // Scratch reused across calls (sized to the largest chunk seen).
    struct scratch {
        std::vector<float> x, xn, q, k, v, attn, o, ffn_a, ffn_b, ffn_y, ple, ple_tok, tmp;
        std::vector<attn_partial> attn_parts;
        std::vector<float> attn_acc;
    } s_;
};

}  // namespace lf
