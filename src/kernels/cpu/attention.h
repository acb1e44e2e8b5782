// Attention of query heads over cached keys, with online softmax so the score matrix is never
// materialised; the heads that share a KV head, and the rows of one slot, read each key once.
// Scale is 1.0 (Gemma 4 normalises Q and K instead). A long key range can be split into chunks
// computed on different threads and merged exactly (split-K).
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

// The query heads of one row that share a KV head, and the key positions the row attends to.
struct attn_row {
    const float* q = nullptr;      // head g's query: q + g * q_stride, f32 [head_dim]
    size_t q_stride = 0;
    float* acc = nullptr;          // head g's unnormalised output: acc + g * acc_stride, f32 [head_dim]
    size_t acc_stride = 0;
    attn_partial* parts = nullptr; // head g's (m, l): parts[g * part_stride]
    size_t part_stride = 0;
    int first = 0, last = -1;      // the row's keys: positions [first, last] (first <= last)
};

// Rows that read the same keys (the rows of one slot), nh query heads each: the keys and values
// of each block are read once for all of them. spans[0] starts at position pos0 and the spans
// cover every row's keys. Keys are taken in blocks that start at multiples of the level's block
// width in position (not relative to a row's first key), so each row's result depends only on
// its own queries and keys: the same alone as in any set of rows, however the spans are cut.
// At most k_attn_max_rows rows per call.
constexpr int k_attn_max_rows = 8;
void attend_partial_rows(const attn_row* rows, int n_rows, int nh, const kv_span* spans, int n_spans, int pos0,
                         int head_dim);

// One row: positions [skip, skip + count) of the spans (position 0 is the first key of spans[0]),
// for nh heads (head g's query at q + g * q_stride, its output at acc + g * acc_stride,
// parts[g * part_stride]).
void attend_partial_heads(const float* q, int nh, size_t q_stride, const kv_span* spans, int n_spans, int skip,
                          int count, int head_dim, float* acc, size_t acc_stride, attn_partial* parts,
                          size_t part_stride);

// Merges n partials into the normalised output f32 [head_dim]: partial i is parts[i * stride]
// with its unnormalised output at acc + i * stride * head_dim.
void merge_partials(const attn_partial* parts, const float* acc, int n, int stride, int head_dim, float* out);

}  // namespace lf
