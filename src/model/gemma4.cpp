// Gemma 4 target forward on the CPU (spec §2). Activations are f32 row-major [n_rows, width];
// every projection goes through matmul(), which reads each weight once per chunk of rows.
#include "model/gemma4.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "core/error.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/ops.h"
#include "model/weights.h"

namespace lf {

namespace {

std::string blk(int il, const char* name) { return "blk." + std::to_string(il) + "." + name; }

// Keys per attention task: a 512-key window makes two or three tasks per KV head to spread over
// the threads. Each chunk of a row leaves a partial output per head for the merge (written on one
// core, read on another), so fewer, larger chunks measured faster than 128 or 64 keys.
constexpr int k_attn_chunk = 256;
// Rows of one slot in one attention task (the verify batch of a slot, or eight prefill rows:
// prefill still makes many tasks).
constexpr int k_attn_rows_per_task = k_attn_max_rows;

// parallel_for through a reference: the std::function then holds one pointer instead of a heap
// copy of the closure, so dispatching work allocates nothing.
template <typename F>
void run_parallel(thread_pool& pool, int64_t n_tasks, const F& fn) {
    pool.parallel_for(n_tasks, std::cref(fn));
}

// Reference implementations form these scales as a double and round to f32.
float fsqrt(double v) { return static_cast<float>(std::sqrt(v)); }

// Cosines and sines of each row's RoPE angles for one layer type (kind 0 full, 1 sliding), made
// once per forward chunk and layer type and shared by every layer and head of that type:
// f32 [n, head_dim] = [cos of head_dim/2 pairs, sin of head_dim/2 pairs] per row. Per thread
// (the model's scratch lives in its header), grown once and reused, so no allocation per token.
const std::vector<float>& rope_table(int kind, const batch_row* rows, int n, int head_dim, const float* inv_freq) {
    struct table {
        std::vector<float> cs;
        std::vector<int> pos;
        std::vector<float> inv_freq;  // f32 [head_dim / 2] the table was made with
    };
    thread_local table tables[2];
    table& t = tables[kind];
    bool same = (int)t.inv_freq.size() == head_dim / 2 && (int)t.pos.size() == n &&
                std::equal(t.inv_freq.begin(), t.inv_freq.end(), inv_freq);
    for (int r = 0; same && r < n; ++r) same = t.pos[r] == rows[r].pos;
    if (!same) {
        t.cs.resize((size_t)n * head_dim);
        t.pos.resize(n);
        for (int r = 0; r < n; ++r) {
            t.pos[r] = rows[r].pos;
            rope_angles(head_dim, rows[r].pos, inv_freq, &t.cs[(size_t)r * head_dim]);
        }
        t.inv_freq.assign(inv_freq, inv_freq + head_dim / 2);
    }
    return t.cs;
}

}  // namespace

gemma4_model::gemma4_model(const std::string& path, file_load how)
    : gemma4_model(std::make_shared<const gguf_file>(gguf_file::open(path, how))) {}

gemma4_model::gemma4_model(std::shared_ptr<const gguf_file> file) : file_(std::move(file)) {
    hp_ = gemma4_hparams::load(*file_);
    if (hp_.arch != "gemma4") fail("expected a gemma4 target model, found architecture '{}'", hp_.arch);
    load();
}

void gemma4_model::load() {
    weight_loader w(*file_);
    // Matrices only ever multiplied (not looked up by row) may be packed for the kernels, in
    // place or with the file's pages given back, unless someone else holds the file too. So may
    // the tied embedding, the LM head: its one lookup per token unpacks that row.
    const bool own_file = file_.use_count() == 1;
    thread_pool pack_pool(default_thread_count());  // for the load only
    auto product_matrix = [&](const std::string& name, int64_t n_in, int64_t n_out) {
        return packed_.pack(*file_, name, w.matrix(name, n_in, n_out), own_file, pack_pool);
    };
    const int64_t H = hp_.n_embd;
    const gguf_tensor& te = w.get("token_embd.weight");
    if (te.ne.size() != 2 || te.ne[0] != H) fail("tensor 'token_embd.weight' must have shape [{}, n_vocab]", H);
    hp_.n_vocab = te.ne[1];
    tok_embd_ = product_matrix("token_embd.weight", H, hp_.n_vocab);
    output_norm_ = w.vec("output_norm.weight", H);
    const int64_t P = hp_.n_embd_per_layer;
    if (P > 0) {
        ple_embd_ = w.matrix("per_layer_token_embd.weight", hp_.n_layer * P, hp_.n_vocab);
        ple_model_proj_ = product_matrix("per_layer_model_proj.weight", H, hp_.n_layer * P);
        ple_proj_norm_ = w.vec("per_layer_proj_norm.weight", P);
    }
    std::vector<float> rope_freqs;
    if (w.has("rope_freqs.weight")) rope_freqs = w.vec("rope_freqs.weight", hp_.head_dim_full / 2);
    inv_freq_full_ = rope_inv_freq(hp_.rope_base_full, hp_.head_dim_full, rope_freqs.empty() ? nullptr : &rope_freqs);
    inv_freq_swa_ = rope_inv_freq(hp_.rope_base_swa, hp_.head_dim_swa, nullptr);

    layers_.resize(hp_.n_layer);
    int n_cache_layers = 0;
    for (int il = 0; il < hp_.n_layer; ++il) {
        gemma4_layer& L = layers_[il];
        const int64_t D = hp_.head_dim(il);
        const int64_t nq = hp_.n_head, nkv = hp_.n_head_kv[il];
        L.attn_norm = w.vec(blk(il, "attn_norm.weight"), H);
        L.wq = product_matrix(blk(il, "attn_q.weight"), H, nq * D);
        L.q_norm = w.vec(blk(il, "attn_q_norm.weight"), D);
        L.wo = product_matrix(blk(il, "attn_output.weight"), nq * D, H);
        L.has_kv = il < hp_.n_layer_kv();
        if (L.has_kv) {
            L.wk = product_matrix(blk(il, "attn_k.weight"), H, nkv * D);
            L.k_norm = w.vec(blk(il, "attn_k_norm.weight"), D);
            L.has_v = w.has(blk(il, "attn_v.weight"));
            if (L.has_v) L.wv = product_matrix(blk(il, "attn_v.weight"), H, nkv * D);
            ++n_cache_layers;
        }
        L.post_attn_norm = w.vec(blk(il, "post_attention_norm.weight"), H);
        L.ffn_norm = w.vec(blk(il, "ffn_norm.weight"), H);
        const int64_t F = hp_.n_ff[il];
        L.ffn_gate = product_matrix(blk(il, "ffn_gate.weight"), H, F);
        L.ffn_up = product_matrix(blk(il, "ffn_up.weight"), H, F);
        L.ffn_down = product_matrix(blk(il, "ffn_down.weight"), F, H);
        L.post_ffw_norm = w.vec(blk(il, "post_ffw_norm.weight"), H);
        if (w.has(blk(il, "layer_output_scale.weight"))) L.layer_scalar = w.vec(blk(il, "layer_output_scale.weight"), 1)[0];
        if (P > 0) {
            L.inp_gate = product_matrix(blk(il, "inp_gate.weight"), H, P);
            L.proj = product_matrix(blk(il, "proj.weight"), P, H);
            L.post_norm = w.vec(blk(il, "post_norm.weight"), H);
        }
        if (hp_.n_expert > 0) {
            const int64_t E = hp_.n_expert, FE = hp_.n_ff_expert;
            L.router = w.matrix(blk(il, "ffn_gate_inp.weight"), H, E);
            if (L.router.type != dtype::f32) fail("tensor '{}' must be f32", blk(il, "ffn_gate_inp.weight"));
            L.router_scale = w.vec(blk(il, "ffn_gate_inp.scale"), H);
            L.expert_scale = w.vec(blk(il, "ffn_down_exps.scale"), E);
            L.pre_ffw_norm_2 = w.vec(blk(il, "pre_ffw_norm_2.weight"), H);
            L.post_ffw_norm_1 = w.vec(blk(il, "post_ffw_norm_1.weight"), H);
            L.post_ffw_norm_2 = w.vec(blk(il, "post_ffw_norm_2.weight"), H);
            L.gate_up_exps = w.matrix3(blk(il, "ffn_gate_up_exps.weight"), H, 2 * FE, E);
            L.down_exps = w.matrix3(blk(il, "ffn_down_exps.weight"), FE, H, E);
        }
    }
    // Cache layers are numbered in model order over the layers that own KV.
    cache_layer_of_.assign(hp_.n_layer, -1);
    int c = 0;
    for (int il = 0; il < hp_.n_layer_kv(); ++il) cache_layer_of_[il] = c++;
    for (int il = hp_.n_layer_kv(); il < hp_.n_layer; ++il) cache_layer_of_[il] = cache_layer_of_[hp_.kv_source_layer(il)];
    (void)n_cache_layers;
}

kv_cache gemma4_model::make_cache(int n_slots, int n_ctx_slot, int max_batch) const {
    std::vector<kv_layer_spec> specs;
    for (int il = 0; il < hp_.n_layer_kv(); ++il)
        specs.push_back({hp_.n_head_kv[il], hp_.head_dim(il), static_cast<bool>(hp_.is_sliding[il])});
    return kv_cache(std::move(specs), n_slots, n_ctx_slot, hp_.sliding_window, max_batch);
}

void gemma4_model::embed(int32_t token, float scale, float* out) const {
    dequantize_matrix_row(tok_embd_, token, out);
    for (int64_t i = 0; i < hp_.n_embd; ++i) out[i] *= scale;
}

void gemma4_model::forward(const std::vector<batch_row>& batch, kv_cache& kv, forward_output& out, bool want_hidden,
                           thread_pool& pool) {
    out.rows.clear();
    out.logits.clear();
    out.hidden.clear();
    // Validate the whole batch before touching the cache.
    // slot -> expected next position (-1: not in the batch yet); reused, so no allocation per call
    thread_local std::vector<int> next_pos;
    next_pos.assign(kv.n_slots(), -1);
    for (size_t r = 0; r < batch.size(); ++r) {
        const batch_row& b = batch[r];
        if (b.token < 0 || b.token >= hp_.n_vocab) fail("token id {} is outside the vocabulary (size {})", b.token, hp_.n_vocab);
        if (b.slot < 0 || b.slot >= kv.n_slots()) fail("slot {} does not exist", b.slot);
        if (b.pos < 0 || b.pos >= kv.n_ctx_slot()) fail("position {} exceeds the context of {} per slot", b.pos, kv.n_ctx_slot());
        const int expected = next_pos[b.slot];
        if (expected < 0) {
            if (b.pos > kv.n_pos(b.slot)) fail("slot {} starts at position {} but holds only {}", b.slot, b.pos, kv.n_pos(b.slot));
        } else if (b.pos != expected) {
            fail("slot {}: positions in a batch must be consecutive ({} after {})", b.slot, b.pos, expected - 1);
        }
        next_pos[b.slot] = b.pos + 1;
    }
    // Chunks of at most max_batch rows keep every sliding ring large enough (see kv-cache.h).
    const int chunk = kv.max_batch();
    for (size_t r0 = 0; r0 < batch.size(); r0 += chunk) {
        int n = static_cast<int>(std::min<size_t>(chunk, batch.size() - r0));
        forward_chunk(batch.data() + r0, n, kv, out, want_hidden, static_cast<int>(r0), pool);
    }
}

void gemma4_model::forward_chunk(const batch_row* rows, int n, kv_cache& kv, forward_output& out, bool want_hidden,
                                 int row_base, thread_pool& pool) {
    const int64_t H = hp_.n_embd, P = hp_.n_embd_per_layer, NL = hp_.n_layer;
    // Drop anything cached at or after each slot's first position in this chunk.
    for (int r = n - 1; r >= 0; --r) kv.truncate(rows[r].slot, rows[r].pos);

    s_.x.resize(n * H);  // f32 [n, H] residual stream
    s_.xn.resize(n * H); // f32 [n, H] normed input of the current block
    const float embd_scale = fsqrt(static_cast<double>(H));
    run_parallel(pool, n, [&](int64_t r, int) { embed(rows[r].token, embd_scale, &s_.x[r * H]); });

    if (P > 0) {
        // Per-layer inputs: ple = (rms(W_plm x0 / sqrt(H)) + E_ple[t] sqrt(P)) / sqrt(2).
        s_.ple.resize(n * NL * P);      // f32 [n, NL, P]
        s_.ple_tok.resize(n * NL * P);  // f32 [n, NL, P]
        matmul(ple_model_proj_, s_.x.data(), n, s_.ple.data(), pool);
        const float proj_scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(H)));
        const float tok_scale = fsqrt(static_cast<double>(P));
        const float sum_scale = static_cast<float>(1.0 / std::sqrt(2.0));
        run_parallel(pool, n, [&](int64_t r, int) {
            float* ple = &s_.ple[r * NL * P];
            float* tok = &s_.ple_tok[r * NL * P];
            dequantize_matrix_row(ple_embd_, rows[r].token, tok);
            for (int64_t l = 0; l < NL; ++l) {
                float* p = ple + l * P;
                for (int64_t i = 0; i < P; ++i) p[i] *= proj_scale;
                rms_norm(p, ple_proj_norm_.data(), p, P, hp_.rms_eps);
                for (int64_t i = 0; i < P; ++i) p[i] = (p[i] + tok[l * P + i] * tok_scale) * sum_scale;
            }
        });
    }

    // x += rms(y, weight), y normalised in place (f32 [H] rows).
    const auto add_normed = [&](float* x, float* y, const float* weight, int64_t len) {
        rms_norm(y, weight, y, len, hp_.rms_eps);
        for (int64_t i = 0; i < len; ++i) x[i] += y[i];
    };
    for (int il = 0; il < NL; ++il) {
        const gemma4_layer& L = layers_[il];
        // Attention block: x = x + rms(W_o attn(rms(x)), post_attention_norm).
        run_parallel(pool, n, [&](int64_t r, int) { rms_norm(&s_.x[r * H], L.attn_norm.data(), &s_.xn[r * H], H, hp_.rms_eps); });
        attention_layer(il, rows, n, kv, pool);
        s_.o.resize(n * H);  // f32 [n, H]
        matmul(L.wo, s_.attn.data(), n, s_.o.data(), pool);
        // The row-wise steps between products run one row per task: each row's arithmetic is
        // the same on any thread, and a verify batch or a prompt no longer leaves the other
        // threads idle while one thread walks the rows.
        const bool dense = hp_.n_expert == 0;
        run_parallel(pool, n, [&](int64_t r, int) {
            add_normed(&s_.x[r * H], &s_.o[r * H], L.post_attn_norm.data(), H);
            if (dense) rms_norm(&s_.x[r * H], L.ffn_norm.data(), &s_.xn[r * H], H, hp_.rms_eps);
        });
        // Feed-forward block.
        s_.ffn_y.resize(n * H);  // f32 [n, H]
        if (dense) ffn_dense(L.ffn_gate, L.ffn_up, L.ffn_down, hp_.n_ff[il], s_.xn.data(), n, s_.ffn_y.data(), pool);
        else ffn_moe(L, s_.x.data(), n, s_.ffn_y.data(), pool);
        const auto scale_row = [&](int64_t r) {
            if (L.layer_scalar != 1.0f)
                for (int64_t i = 0; i < H; ++i) s_.x[r * H + i] *= L.layer_scalar;
        };
        run_parallel(pool, n, [&](int64_t r, int) {
            add_normed(&s_.x[r * H], &s_.ffn_y[r * H], L.post_ffw_norm.data(), H);
            if (P == 0) scale_row(r);
        });
        if (P > 0) {
            // x = x + rms(W_proj (gelu(W_gate x) * ple[l]), post_norm)
            s_.tmp.resize(n * P);  // f32 [n, P]
            matmul(L.inp_gate, s_.x.data(), n, s_.tmp.data(), pool);
            run_parallel(pool, n, [&](int64_t r, int) {
                float* g = &s_.tmp[r * P];
                gelu_tanh(g, P);
                const float* ple = &s_.ple[(r * NL + il) * P];
                for (int64_t i = 0; i < P; ++i) g[i] *= ple[i];
            });
            matmul(L.proj, s_.tmp.data(), n, s_.o.data(), pool);
            run_parallel(pool, n, [&](int64_t r, int) {
                add_normed(&s_.x[r * H], &s_.o[r * H], L.post_norm.data(), H);
                scale_row(r);
            });
        }
    }
    for (int r = 0; r < n; ++r) kv.commit(rows[r].slot, rows[r].pos + 1);

    // Outputs: final norm, tied LM head, soft-cap.
    thread_local std::vector<int> out_rows;  // reused: no allocation per token
    out_rows.clear();
    for (int r = 0; r < n; ++r)
        if (rows[r].output) out_rows.push_back(r);
    if (out_rows.empty()) return;
    const int n_out = static_cast<int>(out_rows.size());
    const int64_t V = hp_.n_vocab;
    s_.xn.resize(n_out * H);  // f32 [n_out, H]
    for (int k = 0; k < n_out; ++k) rms_norm(&s_.x[out_rows[k] * H], output_norm_.data(), &s_.xn[k * H], H, hp_.rms_eps);
    size_t base = out.logits.size();
    out.logits.resize(base + (size_t)n_out * V);
    matmul(tok_embd_, s_.xn.data(), n_out, out.logits.data() + base, pool);
    if (hp_.final_softcap > 0) {
        // Element-wise, so any split over the pool gives the same bits.
        float* lg = out.logits.data() + base;
        const int64_t total = (int64_t)n_out * V, chunk = int64_t{1} << 16;
        run_parallel(pool, (total + chunk - 1) / chunk, [&](int64_t t, int) {
            softcap(lg + t * chunk, std::min(chunk, total - t * chunk), hp_.final_softcap);
        });
    }
    for (int k = 0; k < n_out; ++k) {
        for (int32_t t : hp_.suppress_tokens)
            if (t >= 0 && t < V) out.logits[base + k * V + t] = -std::numeric_limits<float>::infinity();
        out.rows.push_back(row_base + out_rows[k]);
    }
    if (want_hidden) out.hidden.insert(out.hidden.end(), s_.xn.begin(), s_.xn.begin() + n_out * H);
}

void gemma4_model::attention_layer(int il, const batch_row* rows, int n, kv_cache& kv, thread_pool& pool) {
    const gemma4_layer& L = layers_[il];
    const int D = hp_.head_dim(il);
    const int nq = hp_.n_head, nkv = hp_.n_head_kv[il];
    const bool sliding = hp_.is_sliding[il];
    const float* freqs = inv_freq(sliding).data();
    const int c = cache_layer_of_[il];

    s_.q.resize((size_t)n * nq * D);  // f32 [n, nq, D]
    // Q, K and V read the same input: one pass over the pool for all three.
    matmul_part parts[3] = {{L.wq, s_.q.data()}, {}, {}};
    int n_parts = 1;
    if (L.has_kv) {
        s_.k.resize((size_t)n * nkv * D);  // f32 [n, nkv, D]
        s_.v.resize((size_t)n * nkv * D);  // f32 [n, nkv, D]
        parts[n_parts++] = {L.wk, s_.k.data()};
        if (L.has_v) parts[n_parts++] = {L.wv, s_.v.data()};
    }
    matmul_multi(parts, n_parts, s_.xn.data(), n, pool);
    // The rotation angles of each row's position, shared by all heads of this layer type.
    const std::vector<float>& cs = rope_table(sliding ? 1 : 0, rows, n, D, freqs);  // f32 [n, D]
    run_parallel(pool, n, [&](int64_t r, int) {
        for (int h = 0; h < nq; ++h) {
            float* q = &s_.q[(r * nq + h) * D];
            rms_norm(q, L.q_norm.data(), q, D, hp_.rms_eps);
            rope_neox_cs(q, D, freqs, &cs[r * D]);
        }
    });
    if (L.has_kv) {
        if (!L.has_v) s_.v = s_.k;  // attention_k_eq_v: V is the raw K projection (before k_norm and RoPE)
        run_parallel(pool, n, [&](int64_t r, int) {
            float* kd = kv.k_row(c, rows[r].slot, rows[r].pos);
            float* vd = kv.v_row(c, rows[r].slot, rows[r].pos);
            for (int h = 0; h < nkv; ++h) {
                float* k = &s_.k[(r * nkv + h) * D];
                rms_norm(k, L.k_norm.data(), kd + h * D, D, hp_.rms_eps);
                rope_neox_cs(kd + h * D, D, freqs, &cs[r * D]);
                rms_norm(&s_.v[(r * nkv + h) * D], nullptr, vd + h * D, D, hp_.rms_eps);
            }
        });
    }
    s_.attn.resize((size_t)n * nq * D);  // f32 [n, nq, D]
    const int group = nq / nkv;
    const int W = hp_.sliding_window;
    // Keys are processed in chunks of k_attn_chunk positions, aligned to multiples of
    // k_attn_chunk in position; a task is one chunk of one KV head for up to
    // k_attn_rows_per_task rows of one slot and all the query heads that share the KV head, so
    // its keys and values are read from memory once for all of them, and long contexts spread
    // over all threads even for one query row. A row's partials depend only on its own key range
    // (attend_partial_rows), which keeps every row's result independent of its batch.
    // Row r's keys are positions [key_lo(r), pos]; its chunks are key_lo / k_attn_chunk ..
    // pos / k_attn_chunk; partial (r, h, j) (j-th chunk of the row) is entry
    // first_task[r] + j * run + h, where a run is nq entries and at least 4 KiB of unused ones:
    // a task writes one run per row, apart from the runs other cores write. With the chunks of a
    // head side by side instead (first_task[r] + h * chunks(r) + j), two cores wrote interleaved
    // 1 KiB entries, and a 4-row task at depth 512 took 240-420 us on two threads against
    // 150-170 us on one; adjacent runs still cost 10% (BENCHMARKS.md, "The attention's partial
    // outputs laid out by chunk"). Aligning the buffer to cache lines did not help, so hardware
    // prefetches into the other core's entries are the likely cause.
    const auto key_lo = [&](int r) { return sliding ? std::max(0, rows[r].pos - W + 1) : 0; };
    const auto first_chunk = [&](int r) { return key_lo(r) / k_attn_chunk; };
    const int run = nq + (4096 / (int)sizeof(float) + D - 1) / D;  // entries of one (row, chunk)
    // Entry index of each row's first (head, chunk). Reused, so no allocation per call; the tasks
    // below run on other threads, so they must reach it through this reference, not by name.
    thread_local std::vector<int> first_task_buffer;
    std::vector<int>& first_task = first_task_buffer;
    first_task.assign(n + 1, 0);
    for (int r = 0; r < n; ++r) {
        const int chunks = rows[r].pos / k_attn_chunk - first_chunk(r) + 1;
        first_task[r + 1] = first_task[r] + run * chunks;
    }
    const int n_entries = first_task[n];
    s_.attn_parts.resize(n_entries);
    s_.attn_acc.resize((size_t)n_entries * D);  // f32 [n_entries, D] unnormalised partial outputs
    struct attn_task {
        int r0, r1, kvh, chunk;  // rows [r0, r1) of one slot, absolute chunk index
    };
    thread_local std::vector<attn_task> task_buffer;
    std::vector<attn_task>& tasks = task_buffer;
    tasks.clear();
    for (int ra = 0; ra < n;) {
        int rb = ra + 1;
        while (rb < n && rb - ra < k_attn_rows_per_task && rows[rb].slot == rows[ra].slot) ++rb;
        int c_lo = std::numeric_limits<int>::max(), c_hi = 0;
        for (int r = ra; r < rb; ++r) {
            c_lo = std::min(c_lo, first_chunk(r));
            c_hi = std::max(c_hi, rows[r].pos / k_attn_chunk);
        }
        for (int kvh = 0; kvh < nkv; ++kvh)
            for (int chunk = c_lo; chunk <= c_hi; ++chunk) tasks.push_back({ra, rb, kvh, chunk});
        ra = rb;
    }
    run_parallel(pool, (int64_t)tasks.size(), [&](int64_t task, int) {
        const attn_task& at = tasks[task];
        const int c0 = at.chunk * k_attn_chunk, c1 = c0 + k_attn_chunk - 1;  // the chunk's positions
        attn_row task_rows[k_attn_max_rows];
        int n_rows = 0, lo = std::numeric_limits<int>::max(), hi = 0;
        for (int r = at.r0; r < at.r1; ++r) {
            const int first = std::max(key_lo(r), c0), last = std::min(rows[r].pos, c1);
            if (first > last) continue;  // the row has no key in this chunk
            // Entry of (r, first head of the group, this chunk).
            const int e0 = first_task[r] + (at.chunk - first_chunk(r)) * run + at.kvh * group;
            task_rows[n_rows++] = {&s_.q[((size_t)r * nq + at.kvh * group) * D], (size_t)D,
                                   &s_.attn_acc[(size_t)e0 * D], (size_t)D, &s_.attn_parts[e0], 1, first, last};
            lo = std::min(lo, first);
            hi = std::max(hi, last);
        }
        if (n_rows == 0) return;
        kv_span spans[2];
        const int ns = kv.spans(c, rows[at.r0].slot, at.kvh, lo, hi, spans);
        attend_partial_rows(task_rows, n_rows, group, spans, ns, lo, D);
    });
    // One task per row: a head's merge is a few microseconds, less than handing it to a thread.
    run_parallel(pool, n, [&](int64_t r, int) {
        const int chunks = (first_task[r + 1] - first_task[r]) / run;
        for (int h = 0; h < nq; ++h) {
            const int t0 = first_task[r] + h;
            merge_partials(&s_.attn_parts[t0], &s_.attn_acc[(size_t)t0 * D], chunks, run, D, &s_.attn[(r * nq + h) * D]);
        }
    });
}

void gemma4_model::ffn_dense(const weight_view& gate, const weight_view& up, const weight_view& down, int64_t n_ff,
                             const float* x, int n, float* y, thread_pool& pool) {
    s_.ffn_a.resize((size_t)n * n_ff);  // f32 [n, n_ff]
    s_.ffn_b.resize((size_t)n * n_ff);  // f32 [n, n_ff]
    const matmul_part parts[2] = {{gate, s_.ffn_a.data()}, {up, s_.ffn_b.data()}};
    matmul_multi(parts, 2, x, n, pool);
    run_parallel(pool, n, [&](int64_t r, int) { gelu_mul(&s_.ffn_a[r * n_ff], &s_.ffn_b[r * n_ff], n_ff); });
    matmul(down, s_.ffn_a.data(), n, y, pool);
}

void gemma4_model::ffn_moe(const gemma4_layer& L, const float* x, int n, float* y, thread_pool& pool) {
    const int64_t H = hp_.n_embd, FE = hp_.n_ff_expert;
    const int E = hp_.n_expert, K = hp_.n_expert_used;
    const int il = static_cast<int>(&L - layers_.data());
    // Dense branch: y1 = rms(mlp(rms(x, ffn_norm)), post_ffw_norm_1).
    std::vector<float> xn(n * H), y1(n * H), xe(n * H), y2(n * H, 0.f);  // f32 [n, H]
    for (int r = 0; r < n; ++r) rms_norm(&x[r * H], L.ffn_norm.data(), &xn[r * H], H, hp_.rms_eps);
    ffn_dense(L.ffn_gate, L.ffn_up, L.ffn_down, hp_.n_ff[il], xn.data(), n, y1.data(), pool);
    // Router: softmax(W_router (rms0(x) / sqrt(H) * scale)), top-k renormalised, times per-expert scale.
    std::vector<float> z(n * H), logits(n * E);
    const float inv_sqrt_h = static_cast<float>(1.0 / std::sqrt(static_cast<double>(H)));
    for (int r = 0; r < n; ++r) {
        rms_norm(&x[r * H], nullptr, &z[r * H], H, hp_.rms_eps);
        for (int64_t i = 0; i < H; ++i) z[r * H + i] *= inv_sqrt_h * L.router_scale[i];
        rms_norm(&x[r * H], L.pre_ffw_norm_2.data(), &xe[r * H], H, hp_.rms_eps);
    }
    matmul(L.router, z.data(), n, logits.data(), pool);
    std::vector<std::vector<std::pair<int, float>>> by_expert(E);  // expert -> (row, weight)
    for (int r = 0; r < n; ++r) {
        float* s = &logits[r * E];
        float mx = *std::max_element(s, s + E), sum = 0;
        for (int e = 0; e < E; ++e) sum += (s[e] = std::exp(s[e] - mx));
        for (int e = 0; e < E; ++e) s[e] /= sum;
        std::vector<int> idx(E);
        for (int e = 0; e < E; ++e) idx[e] = e;
        std::partial_sort(idx.begin(), idx.begin() + K, idx.end(), [&](int a, int b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
        float top_sum = 0;
        for (int k = 0; k < K; ++k) top_sum += s[idx[k]];
        for (int k = 0; k < K; ++k) by_expert[idx[k]].push_back({r, s[idx[k]] / top_sum * L.expert_scale[idx[k]]});
    }
    // Each expert runs once over the rows routed to it.
    std::vector<float> xin, gu, out;
    for (int e = 0; e < E; ++e) {
        const auto& sel = by_expert[e];
        if (sel.empty()) continue;
        int m = static_cast<int>(sel.size());
        xin.resize(m * H);  // f32 [m, H]
        for (int k = 0; k < m; ++k) std::copy_n(&xe[sel[k].first * H], H, &xin[k * H]);
        weight_view gate_up = L.gate_up_exps;
        gate_up.data = static_cast<const uint8_t*>(gate_up.data) + (size_t)e * 2 * FE * row_bytes(gate_up.type, H);
        weight_view down = L.down_exps;
        down.data = static_cast<const uint8_t*>(down.data) + (size_t)e * H * row_bytes(down.type, FE);
        gu.resize(m * 2 * FE);  // f32 [m, 2 * FE]: gate then up
        matmul(gate_up, xin.data(), m, gu.data(), pool);
        std::vector<float> act(m * FE);  // f32 [m, FE]
        for (int k = 0; k < m; ++k) {
            std::copy_n(&gu[k * 2 * FE], FE, &act[k * FE]);
            gelu_mul(&act[k * FE], &gu[k * 2 * FE + FE], FE);
        }
        out.resize(m * H);  // f32 [m, H]
        matmul(down, act.data(), m, out.data(), pool);
        for (int k = 0; k < m; ++k) axpy(&y2[sel[k].first * H], &out[k * H], sel[k].second, H);
    }
    for (int r = 0; r < n; ++r) {
        rms_norm(&y1[r * H], L.post_ffw_norm_1.data(), &y1[r * H], H, hp_.rms_eps);
        rms_norm(&y2[r * H], L.post_ffw_norm_2.data(), &y2[r * H], H, hp_.rms_eps);
        for (int64_t i = 0; i < H; ++i) y[r * H + i] = y1[r * H + i] + y2[r * H + i];
    }
}

}  // namespace lf
