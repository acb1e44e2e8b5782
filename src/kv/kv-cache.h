// The KV cache: per slot, per cached layer, the K and V rows of every position the layer can
// still need.
//
// Invariants:
// - A slot's cached positions are always the contiguous range [0, n_pos(slot)). Writing at a
//   position p requires p <= n_pos(slot); it truncates the slot to p first (so re-evaluating a
//   position after rollback simply overwrites it). Rollback (`truncate`) is the only removal.
// - Full-attention layers keep every position (cell = pos, capacity n_ctx_slot).
// - Sliding layers keep a ring of `ring` cells (cell = pos % ring). The ring holds
//   window + 1 + max_batch cells: a batch of up to max_batch new positions never overwrites a key
//   that one of its queries (or, after any rollback inside that batch, the next draft step, which
//   reads window + 1 committed keys) still needs.
// - Only this module writes cache memory. Layers that share KV (the last num_kv_shared_layers of
//   a Gemma 4 model, and every drafter layer) read a donor layer's storage and own none.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/huge-buffer.h"

namespace lf {

struct kv_span;

struct kv_layer_spec {
    int n_head_kv = 0;
    int head_dim = 0;
    bool sliding = false;
};

class kv_cache {
public:
    // layers: one spec per cached layer (indexed by cache layer id, not model layer).
    kv_cache(std::vector<kv_layer_spec> layers, int n_slots, int n_ctx_slot, int window, int max_batch);

    int n_slots() const { return n_slots_; }
    int n_ctx_slot() const { return n_ctx_slot_; }
    int window() const { return window_; }
    int ring() const { return ring_; }
    int max_batch() const { return max_batch_; }
    int n_layers() const { return static_cast<int>(layers_.size()); }
    const kv_layer_spec& layer(int il) const { return layers_[il]; }

    // Number of positions cached for a slot.
    int n_pos(int slot) const { return n_pos_[slot]; }
    // Removes positions >= pos from a slot (rejected drafts, a reset slot).
    void truncate(int slot, int pos);
    // Records that positions up to pos (exclusive) are now valid for the slot.
    void commit(int slot, int n_pos);

    // K or V row of one position: f32 [n_head_kv, head_dim]. The position must be one the layer
    // still holds (for sliding layers: within the last `ring` positions).
    float* k_row(int il, int slot, int pos) { return base() + k_off_[il] + offset(il, slot, pos); }
    float* v_row(int il, int slot, int pos) { return base() + v_off_[il] + offset(il, slot, pos); }
    const float* k_row(int il, int slot, int pos) const { return base() + k_off_[il] + offset(il, slot, pos); }
    const float* v_row(int il, int slot, int pos) const { return base() + v_off_[il] + offset(il, slot, pos); }

    size_t bytes() const;

    // The positions [pos_lo, pos_hi] of one kv head as at most two strided spans (a ring wraps
    // once at most). Returns the number of spans written to `out` (0 when the range is empty).
    int spans(int il, int slot, int kv_head, int pos_lo, int pos_hi, kv_span* out) const;

private:
    size_t offset(int il, int slot, int pos) const {
        const auto& s = layers_[il];
        size_t cells = s.sliding ? ring_ : n_ctx_slot_;
        size_t cell = s.sliding ? static_cast<size_t>(pos % ring_) : static_cast<size_t>(pos);
        return ((size_t)slot * cells + cell) * (size_t)s.n_head_kv * s.head_dim;
    }

    std::vector<kv_layer_spec> layers_;
    int n_slots_, n_ctx_slot_, window_, max_batch_, ring_;
    std::vector<int> n_pos_;
    float* base() const { return reinterpret_cast<float*>(arena_.data()); }

    // Per cache layer, K and V: f32 [n_slots, cells, n_head_kv, head_dim] at base() + k_off_[il]
    // and base() + v_off_[il], all in one arena.
    huge_buffer arena_;
    std::vector<size_t> k_off_, v_off_;
};

}  // namespace lf
