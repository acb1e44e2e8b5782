// Hyperparameters of a Gemma 4 target ("gemma4") or assistant head ("gemma4-assistant"), read
// from GGUF metadata. Names follow the GGUF keys. Everything is validated on load so the
// forward pass can trust it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf.h"

namespace lf {

struct gemma4_hparams {
    std::string arch;                 // "gemma4" or "gemma4-assistant"
    int64_t n_vocab = 0;              // rows of token_embd
    int64_t n_embd = 0;               // embedding_length (H, or d for the assistant)
    int64_t n_embd_out = 0;           // assistant: embedding_length_out (target H); else 0
    int n_layer = 0;                  // block_count
    int n_head = 0;                   // attention.head_count
    std::vector<int> n_head_kv;       // per layer
    std::vector<int64_t> n_ff;        // per layer (feed_forward_length, scalar or array)
    std::vector<bool> is_sliding;     // per layer (sliding_window_pattern)
    int head_dim_full = 0;            // attention.key_length
    int head_dim_swa = 0;             // attention.key_length_swa
    int sliding_window = 0;           // attention.sliding_window
    int n_shared_kv_layers = 0;       // attention.shared_kv_layers
    float rms_eps = 1e-6f;
    float rope_base_full = 1e6f;
    float rope_base_swa = 1e4f;
    int rope_dims_full = 0;           // rope.dimension_count
    int rope_dims_swa = 0;            // rope.dimension_count_swa
    int64_t n_embd_per_layer = 0;     // embedding_length_per_layer_input (PLE width P)
    float final_softcap = 0;          // 0 = none
    int n_expert = 0, n_expert_used = 0;
    int64_t n_ff_expert = 0;
    int64_t context_length = 0;
    std::vector<int32_t> suppress_tokens;  // tokenizer.ggml.suppress_tokens (logit bias -inf)

    int head_dim(int il) const { return is_sliding[il] ? head_dim_swa : head_dim_full; }
    // First layer that reuses another layer's KV (== n_layer when none do).
    int n_layer_kv() const { return n_layer - n_shared_kv_layers; }
    // The layer whose KV cache layer il reads: itself, or for a KV-shared layer the last
    // non-shared layer of the same type.
    int kv_source_layer(int il) const;

    static gemma4_hparams load(const gguf_file& f);
};

}  // namespace lf
