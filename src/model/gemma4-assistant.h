// The Gemma 4 assistant ("gemma4-assistant", the MTP draft head), spec §3. A 4-layer Q-only
// decoder: its attention reads the target's cached K/V of the target's last non-shared sliding and
// full layers (it owns no cache). One draft step maps (token, h) at a fixed position to logits over
// the vocabulary and the next step's h.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/thread-pool.h"
#include "gguf/gguf.h"
#include "kernels/cpu/matmul.h"
#include "kv/kv-cache.h"
#include "model/gemma4.h"
#include "model/packed-weights.h"

namespace lf {

// One drafting slot's input for a draft step. Every tensor of the step is sized from the number
// of these rows (one per drafting slot), never from any surrounding target batch.
struct draft_row {
    int32_t token = 0;        // previous token (last sampled, or the previous draft)
    int32_t pos = 0;          // the slot's committed length: the same for every step of a round
    int32_t slot = 0;
    const float* h = nullptr; // f32 [n_embd_out]: target final-norm hidden or previous step's h'
};

struct draft_output {
    std::vector<float> logits;  // f32 [n_rows, n_vocab]; masked head: unscored entries = min(scored) - 1
    std::vector<float> h_next;  // f32 [n_rows, n_embd_out]
};

class gemma4_assistant {
public:
    // Loads the head and checks that it fits the target (hidden size, head dims and KV-head
    // counts of the target layers it reads); a mismatch throws lf::error naming both values.
    gemma4_assistant(const std::string& path, const gemma4_model& target, file_load how = file_load::map);

    const gemma4_hparams& hparams() const { return hp_; }
    // The matrices packed for the kernels at load time (packed-weights.h).
    const packed_weights& packed() const { return packed_; }
    bool has_centroids() const { return n_centroids_ > 0; }
    int centroid_top_k() const { return centroid_top_k_; }
    void set_use_centroids(bool on) { use_centroids_ = on && has_centroids(); }

    void step(const std::vector<draft_row>& rows, const kv_cache& kv, draft_output& out, thread_pool& pool);

private:
    struct layer {
        std::vector<float> attn_norm;       // f32 [d]
        weight_view wq;                     // [d -> n_head * head_dim]
        std::vector<float> q_norm;          // f32 [head_dim]
        weight_view wo;                     // [n_head * head_dim -> d]
        std::vector<float> post_attn_norm;  // f32 [d]
        std::vector<float> ffn_norm;        // f32 [d]
        weight_view ffn_gate, ffn_up;       // [d -> n_ff]
        weight_view ffn_down;               // [n_ff -> d]
        std::vector<float> post_ffw_norm;   // f32 [d]
        float layer_scalar = 1.0f;
        int target_layer = 0;               // target layer whose KV this layer reads
    };
    void lm_head(const float* n, int n_rows, float* logits, thread_pool& pool);

    std::shared_ptr<const gguf_file> file_;
    packed_weights packed_;  // matrices packed for the kernels at load time, if any
    const gemma4_model& target_;
    gemma4_hparams hp_;
    weight_view tok_embd_;             // [d -> n_vocab] tied LM head
    std::vector<float> output_norm_;   // f32 [d]
    weight_view pre_proj_;             // [2 * n_embd_out -> d]
    weight_view post_proj_;            // [d -> n_embd_out]
    std::vector<layer> layers_;
    std::vector<float> inv_freq_full_, inv_freq_swa_;
    // Centroid-masked head (E2B/E4B): cluster logits, then only the chosen clusters' tokens.
    weight_view centroids_;                  // [d -> n_centroids]
    std::vector<int32_t> ordering_;          // [n_centroids, n_vocab / n_centroids] canonical token ids
    int n_centroids_ = 0, centroid_top_k_ = 0;
    bool use_centroids_ = false;
    struct scratch {
        std::vector<float> x, xn, in, q, attn, o, a, b, y, c, sel;
    } s_;
};

}  // namespace lf
