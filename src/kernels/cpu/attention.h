// Attention of one query head over cached keys, with online softmax so the score matrix is
// never materialised. Scale is 1.0 (Gemma 4 normalises Q and K instead). A long key range can be
// split into chunks computed on different threads and merged exactly (split-K).
#pragma once
#include <cstddef>
#include <cstdint>

namespace lf {

// A run of consecutive positions stored at a fixed stride (a sliding ring wraps at most once,
// so any window is one or two spans).
struct kv_span {
    const float* k = nullptr;  // f32: key of the first position, this kv head [head_dim]
    const float* v = nullptr;  // f32: value of the first position [head_dim]
    int n = 0;                 // positions in the span
    size_t stride = 0;         // floats between consecutive positions
};

// Unnormalised partial result over some keys: out = Σ exp(s_j - m) v_j, l = Σ exp(s_j - m).
struct attn_partial {
    float m;  // running maximum score (-inf when no key was seen)
    float l;  // sum of exp(score - m)
};

// The unnormalised partials of positions [skip, skip + count) of the spans (in span order) for
// nh query heads that share these keys and values (grouped-query attention), so the keys and
// values are read once for all of them: head g's query at q + g * q_stride, its
// partial output at acc + g * acc_stride (f32 [head_dim]) and parts[g * part_stride]. Each
// head's result depends only on its own query and the keys.
void attend_partial_heads(const float* q, int nh, size_t q_stride, const kv_span* spans, int n_spans, int skip,
                          int count, int head_dim, float* acc, size_t acc_stride, attn_partial* parts,
                          size_t part_stride);

// Merges partials (acc: f32 [n, head_dim]) into the normalised output f32 [head_dim].
void merge_partials(const attn_partial* parts, const float* acc, int n, int head_dim, float* out);

}  // namespace lf
