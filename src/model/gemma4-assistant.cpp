// Gemma 4 assistant draft step (spec §3.4-3.7).
#include "model/gemma4-assistant.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <numeric>

#include "core/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/ops.h"
#include "model/weights.h"

namespace lf {

namespace {

std::string blk(int il, const char* name) { return "blk." + std::to_string(il) + "." + name; }

// parallel_for through a reference: the std::function then holds one pointer instead of a heap
// copy of the closure, so dispatching work allocates nothing.
template <typename F>
void run_parallel(thread_pool& pool, int64_t n_tasks, const F& fn) {
    pool.parallel_for(n_tasks, std::cref(fn));
}

// The target layer a drafter layer of the given type reads: the target's last layer of that
// type that owns its KV.
int source_layer(const gemma4_hparams& t, bool sliding) {
    for (int j = t.n_layer_kv() - 1; j >= 0; --j)
        if (t.is_sliding[j] == sliding) return j;
    fail("the target has no {} attention layer with its own KV for the assistant to read", sliding ? "sliding" : "full");
}

}  // namespace

gemma4_assistant::gemma4_assistant(const std::string& path, const gemma4_model& target, file_load how)
    : file_(std::make_shared<const gguf_file>(gguf_file::open(path, how))), target_(target) {
    hp_ = gemma4_hparams::load(*file_);
    if (hp_.arch != "gemma4-assistant") fail("'{}' is not an assistant head (architecture '{}')", path, hp_.arch);
    const gemma4_hparams& th = target.hparams();
    if (hp_.n_embd_out != th.n_embd)
        fail("assistant head does not fit the target: embedding_length_out is {} but the target's hidden size is {}",
             hp_.n_embd_out, th.n_embd);
    weight_loader w(*file_);
    // Matrices only ever multiplied may be packed for the kernels (packed-weights.h); this head
    // owns its file, so they are packed in place or the file's pages under them given back.
    thread_pool pack_pool(default_thread_count());  // for the load only
    auto product_matrix = [&](const std::string& name, int64_t n_in, int64_t n_out) {
        return packed_.pack(*file_, name, w.matrix(name, n_in, n_out), true, pack_pool);
    };
    const int64_t d = hp_.n_embd, B = hp_.n_embd_out;
    const gguf_tensor& te = w.get("token_embd.weight");
    if (te.ne.size() != 2 || te.ne[0] != d) fail("tensor 'token_embd.weight' must have shape [{}, n_vocab]", d);
    hp_.n_vocab = te.ne[1];
    if (hp_.n_vocab != th.n_vocab)
        fail("assistant head does not fit the target: vocabulary {} vs the target's {}", hp_.n_vocab, th.n_vocab);
    tok_embd_ = w.matrix("token_embd.weight", d, hp_.n_vocab);
    output_norm_ = w.vec("output_norm.weight", d);
    pre_proj_ = product_matrix("nextn.pre_projection.weight", 2 * B, d);
    post_proj_ = product_matrix("nextn.post_projection.weight", d, B);
    std::vector<float> rope_freqs;
    if (w.has("rope_freqs.weight")) rope_freqs = w.vec("rope_freqs.weight", hp_.head_dim_full / 2);
    inv_freq_full_ = rope_inv_freq(hp_.rope_base_full, hp_.head_dim_full, rope_freqs.empty() ? nullptr : &rope_freqs);
    inv_freq_swa_ = rope_inv_freq(hp_.rope_base_swa, hp_.head_dim_swa, nullptr);
    if (hp_.sliding_window != th.sliding_window)
        fail("assistant head does not fit the target: sliding window {} vs the target's {}", hp_.sliding_window,
             th.sliding_window);

    layers_.resize(hp_.n_layer);
    for (int il = 0; il < hp_.n_layer; ++il) {
        layer& L = layers_[il];
        const bool sliding = hp_.is_sliding[il];
        const int D = hp_.head_dim(il);
        L.target_layer = source_layer(th, sliding);
        const int tl = L.target_layer;
        if (D != th.head_dim(tl))
            fail("assistant head does not fit the target: layer {} ({}) has head dim {} but target layer {} has {}", il,
                 sliding ? "sliding" : "full", D, tl, th.head_dim(tl));
        if (hp_.n_head_kv[il] != th.n_head_kv[tl])
            fail("assistant head does not fit the target: layer {} ({}) expects {} KV heads but target layer {} has {}",
                 il, sliding ? "sliding" : "full", hp_.n_head_kv[il], tl, th.n_head_kv[tl]);
        L.attn_norm = w.vec(blk(il, "attn_norm.weight"), d);
        L.wq = product_matrix(blk(il, "attn_q.weight"), d, (int64_t)hp_.n_head * D);
        L.q_norm = w.vec(blk(il, "attn_q_norm.weight"), D);
        L.wo = product_matrix(blk(il, "attn_output.weight"), (int64_t)hp_.n_head * D, d);
        L.post_attn_norm = w.vec(blk(il, "post_attention_norm.weight"), d);
        L.ffn_norm = w.vec(blk(il, "ffn_norm.weight"), d);
        L.ffn_gate = product_matrix(blk(il, "ffn_gate.weight"), d, hp_.n_ff[il]);
        L.ffn_up = product_matrix(blk(il, "ffn_up.weight"), d, hp_.n_ff[il]);
        L.ffn_down = product_matrix(blk(il, "ffn_down.weight"), hp_.n_ff[il], d);
        L.post_ffw_norm = w.vec(blk(il, "post_ffw_norm.weight"), d);
        L.layer_scalar = w.vec(blk(il, "layer_output_scale.weight"), 1)[0];
    }

    if (w.has("masked_embd_centroids.weight")) {
        const gguf_tensor& ct = w.get("masked_embd_centroids.weight");
        if (ct.ne.size() != 2 || ct.ne[0] != d) fail("tensor 'masked_embd_centroids.weight' must have shape [{}, n_centroids]", d);
        n_centroids_ = static_cast<int>(ct.ne[1]);
        if (n_centroids_ <= 0 || hp_.n_vocab % n_centroids_ != 0)
            fail("masked_embd_centroids: {} centroids do not divide the vocabulary of {}", n_centroids_, hp_.n_vocab);
        centroids_ = product_matrix("masked_embd_centroids.weight", d, n_centroids_);
        std::vector<float> order = w.vec("masked_embd_ordering", hp_.n_vocab);
        ordering_.resize(hp_.n_vocab);
        for (int64_t i = 0; i < hp_.n_vocab; ++i) {
            float v = order[i];
            if (!(v >= 0 && v < hp_.n_vocab) || v != std::floor(v))
                fail("masked_embd_ordering[{}] = {} is not a token id", i, v);
            ordering_[i] = static_cast<int32_t>(v);
        }
        centroid_top_k_ = static_cast<int>(file_->opt_int("gemma4-assistant.masked_embedding.top_k").value_or(32));
        centroid_top_k_ = std::clamp(centroid_top_k_, 1, n_centroids_);
        use_centroids_ = true;
    }
}

void gemma4_assistant::step(const std::vector<draft_row>& rows, const kv_cache& kv, draft_output& out, thread_pool& pool) {
    const int n = static_cast<int>(rows.size());  // one row per drafting slot
    const int64_t d = hp_.n_embd, B = hp_.n_embd_out, V = hp_.n_vocab;
    const int nq = hp_.n_head;
    out.logits.resize((size_t)n * V);
    out.h_next.resize((size_t)n * B);
    if (n == 0) return;

    // u = W_pre concat(E_target[t] * sqrt(B), h)
    s_.in.resize((size_t)n * 2 * B);  // f32 [n, 2B]
    const float embd_scale = static_cast<float>(std::sqrt(static_cast<double>(B)));
    for (int r = 0; r < n; ++r) {
        target_.embed(rows[r].token, embd_scale, &s_.in[r * 2 * B]);
        std::copy_n(rows[r].h, B, &s_.in[r * 2 * B + B]);
    }
    s_.x.resize((size_t)n * d);   // f32 [n, d] residual stream
    s_.xn.resize((size_t)n * d);  // f32 [n, d]
    matmul(pre_proj_, s_.in.data(), n, s_.x.data(), pool);

    for (int il = 0; il < hp_.n_layer; ++il) {
        const layer& L = layers_[il];
        const bool sliding = hp_.is_sliding[il];
        const int D = hp_.head_dim(il);
        const int nkv = hp_.n_head_kv[il];
        const int c = target_.cache_layer(L.target_layer);
        const float* inv_freq = sliding ? inv_freq_swa_.data() : inv_freq_full_.data();
        for (int r = 0; r < n; ++r) rms_norm(&s_.x[r * d], L.attn_norm.data(), &s_.xn[r * d], d, hp_.rms_eps);
        s_.q.resize((size_t)n * nq * D);     // f32 [n, nq, D]
        s_.attn.resize((size_t)n * nq * D);  // f32 [n, nq, D]
        matmul(L.wq, s_.xn.data(), n, s_.q.data(), pool);
        const int W = hp_.sliding_window, group = nq / nkv;
        // One task per (row, KV head): the query heads sharing a KV head read its keys once.
        run_parallel(pool, (int64_t)n * nkv, [&](int64_t task, int) {
            int r = static_cast<int>(task / nkv), kvh = static_cast<int>(task % nkv);
            float cs[512 * 2];  // f32 [D]: cos and sin of the row's angles (D <= 1024)
            LF_CHECK(D <= 1024);
            rope_angles(D, rows[r].pos, inv_freq, cs);
            float* q0 = &s_.q[((size_t)r * nq + kvh * group) * D];
            for (int g = 0; g < group; ++g) {
                float* q = q0 + (size_t)g * D;
                rms_norm(q, L.q_norm.data(), q, D, hp_.rms_eps);
                rope_neox_cs(q, D, inv_freq, cs);
            }
            // Committed keys only (positions < p). Sliding layers see the last W + 1 of them, as
            // the reference implementation's flipped bidirectional mask does.
            int p = rows[r].pos;
            int lo = sliding ? std::max(0, p - W - 1) : 0;
            kv_span spans[2];
            int ns = kv.spans(c, rows[r].slot, kvh, lo, p - 1, spans);
            int total = 0;
            for (int i = 0; i < ns; ++i) total += spans[i].n;
            float* out = &s_.attn[((size_t)r * nq + kvh * group) * D];
            attn_partial parts[64];
            LF_CHECK(group <= 64);
            attend_partial_heads(q0, group, D, spans, ns, 0, total, D, out, D, parts, 1);
            for (int g = 0; g < group; ++g) {
                const float inv = parts[g].l > 0.f ? 1.f / parts[g].l : 0.f;
                for (int d = 0; d < D; ++d) out[(size_t)g * D + d] *= inv;
            }
        });
        s_.o.resize((size_t)n * d);  // f32 [n, d]
        matmul(L.wo, s_.attn.data(), n, s_.o.data(), pool);
        for (int r = 0; r < n; ++r) {
            rms_norm(&s_.o[r * d], L.post_attn_norm.data(), &s_.o[r * d], d, hp_.rms_eps);
            for (int64_t i = 0; i < d; ++i) s_.x[r * d + i] += s_.o[r * d + i];
            rms_norm(&s_.x[r * d], L.ffn_norm.data(), &s_.xn[r * d], d, hp_.rms_eps);
        }
        const int64_t F = hp_.n_ff[il];
        s_.a.resize((size_t)n * F);  // f32 [n, F]
        s_.b.resize((size_t)n * F);  // f32 [n, F]
        const matmul_part parts[2] = {{L.ffn_gate, s_.a.data()}, {L.ffn_up, s_.b.data()}};
        matmul_multi(parts, 2, s_.xn.data(), n, pool);
        gelu_mul(s_.a.data(), s_.b.data(), (int64_t)n * F);
        matmul(L.ffn_down, s_.a.data(), n, s_.o.data(), pool);
        for (int r = 0; r < n; ++r) {
            rms_norm(&s_.o[r * d], L.post_ffw_norm.data(), &s_.o[r * d], d, hp_.rms_eps);
            for (int64_t i = 0; i < d; ++i) s_.x[r * d + i] = (s_.x[r * d + i] + s_.o[r * d + i]) * L.layer_scalar;
        }
    }
    for (int r = 0; r < n; ++r) rms_norm(&s_.x[r * d], output_norm_.data(), &s_.xn[r * d], d, hp_.rms_eps);
    lm_head(s_.xn.data(), n, out.logits.data(), pool);
    matmul(post_proj_, s_.xn.data(), n, out.h_next.data(), pool);
}

void gemma4_assistant::lm_head(const float* xn, int n, float* logits, thread_pool& pool) {
    const int64_t d = hp_.n_embd, V = hp_.n_vocab;
    if (!use_centroids_) {
        matmul(tok_embd_, xn, n, logits, pool);  // dense tied head, no soft-cap
        return;
    }
    // Masked head: score the clusters, then only the tokens of the top-k clusters.
    const int per = static_cast<int>(V / n_centroids_);
    const int K = centroid_top_k_;
    s_.c.resize((size_t)n * n_centroids_);  // f32 [n, n_centroids]
    matmul(centroids_, xn, n, s_.c.data(), pool);
    // Reused buffers: no allocation per draft step.
    thread_local std::vector<int> idx;  // cluster order
    thread_local std::vector<int32_t> ids;  // token ids of the selected clusters
    for (int r = 0; r < n; ++r) {
        const float* cr = &s_.c[(size_t)r * n_centroids_];
        idx.resize(n_centroids_);
        std::iota(idx.begin(), idx.end(), 0);
        std::partial_sort(idx.begin(), idx.begin() + K, idx.end(), [&](int a, int b) { return cr[a] > cr[b] || (cr[a] == cr[b] && a < b); });
        ids.resize((size_t)K * per);
        for (int k = 0; k < K; ++k) std::copy_n(&ordering_[(size_t)idx[k] * per], per, &ids[(size_t)k * per]);
        s_.sel.resize(ids.size());  // f32 [K * per] scores of the selected tokens
        // The selected rows of the tied embedding, as the dense head's product would give them.
        matmul_rows(tok_embd_, ids.data(), static_cast<int64_t>(ids.size()), xn + (size_t)r * d, s_.sel.data(), pool);
        float mn = *std::min_element(s_.sel.begin(), s_.sel.end());
        float* lr = logits + (size_t)r * V;
        std::fill(lr, lr + V, mn - 1.0f);
        for (size_t k = 0; k < ids.size(); ++k) lr[ids[k]] = s_.sel[k];
    }
}

}  // namespace lf
