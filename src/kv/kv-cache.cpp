#include "kv/kv-cache.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "kernels/cpu/attention.h"

namespace lf {

kv_cache::kv_cache(std::vector<kv_layer_spec> layers, int n_slots, int n_ctx_slot, int window, int max_batch)
    : layers_(std::move(layers)), n_slots_(n_slots), n_ctx_slot_(n_ctx_slot), window_(window),
      max_batch_(max_batch), ring_(std::min(n_ctx_slot, window + 1 + max_batch)), n_pos_(n_slots, 0) {
    LF_CHECK(n_slots > 0 && n_ctx_slot > 0 && max_batch > 0);
    // Every layer's K and V in one huge-page arena (attention streams them like weights), each
    // array starting on a 64-byte line.
    size_t n_floats = 0;
    for (const auto& s : layers_) {
        size_t cells = s.sliding ? ring_ : n_ctx_slot_;
        size_t n = ((size_t)n_slots_ * cells * s.n_head_kv * s.head_dim + 15) / 16 * 16;
        k_off_.push_back(n_floats);
        v_off_.push_back(n_floats + n);
        n_floats += 2 * n;
    }
    arena_ = huge_buffer(n_floats * sizeof(float));
    // Every page faulted in now rather than when decode first writes a position there.
    if (arena_.size() > 0) std::memset(arena_.data(), 0, arena_.size());
}

void kv_cache::truncate(int slot, int pos) {
    LF_CHECK(slot >= 0 && slot < n_slots_ && pos >= 0);
    n_pos_[slot] = std::min(n_pos_[slot], pos);
}

void kv_cache::commit(int slot, int n_pos) {
    LF_CHECK(slot >= 0 && slot < n_slots_ && n_pos <= n_ctx_slot_);
    n_pos_[slot] = std::max(n_pos_[slot], n_pos);
}

int kv_cache::spans(int il, int slot, int kv_head, int pos_lo, int pos_hi, kv_span* out) const {
    if (pos_hi < pos_lo) return 0;
    const auto& s = layers_[il];
    size_t stride = (size_t)s.n_head_kv * s.head_dim;
    size_t head_off = (size_t)kv_head * s.head_dim;
    auto span_at = [&](int p0, int n, kv_span& sp) {
        sp.k = k_row(il, slot, p0) + head_off;
        sp.v = v_row(il, slot, p0) + head_off;
        sp.n = n;
        sp.stride = stride;
    };
    int n = pos_hi - pos_lo + 1;
    if (!s.sliding) {
        span_at(pos_lo, n, out[0]);
        return 1;
    }
    LF_CHECK(n <= ring_);
    int cell_lo = pos_lo % ring_;
    int first = std::min(n, ring_ - cell_lo);  // positions before the ring wraps
    span_at(pos_lo, first, out[0]);
    if (first == n) return 1;
    span_at(pos_lo + first, n - first, out[1]);
    return 2;
}

size_t kv_cache::bytes() const {
    return arena_.size();
}

}  // namespace lf
