// Random-weight Gemma 4 models; see synth-model.h. The tensor list mirrors what the converter
// accepts and requires for a checkpoint of the same config (gemma4-convert.cpp): KV-shared target
// layers carry no attn_k/attn_v/attn_k_norm, k_eq_v full layers no attn_v, assistants no K/V at
// all, and the centroid head only with use_ordered_embeddings.
#include "convert/synth-model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "convert/quant-policy.h"
#include "convert/synth-vocab.h"
#include "core/error.h"
#include "core/thread-pool.h"
#include "quant/quant.h"
#include "tokenizer/vocab.h"

namespace lf {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

uint64_t splitmix64(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

uint64_t hash_name(const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

// An approximately standard normal value from 64 random bits: the Irwin-Hall sum of four 16-bit
// uniforms, rescaled (tails end at ±3.46, which weights never need). Cheap enough to fill
// billions of elements.
inline float normal_from_bits(uint64_t r) {
    const float sum = static_cast<float>((r & 0xFFFF) + ((r >> 16) & 0xFFFF) + ((r >> 32) & 0xFFFF) + (r >> 48));
    return (sum - 131070.0f) * (1.0f / (65536.0f * 0.57735027f));
}

// How the values of one tensor are drawn.
struct value_rule {
    enum kind_t { normal, near_one, rope_freqs, permutation } kind = normal;
    float std = 1.0f;
};

value_rule rule_for(const planned_tensor& t, const gemma4_text_config& c) {
    if (t.name == "rope_freqs.weight") return {value_rule::rope_freqs};
    if (t.name == "masked_embd_ordering") return {value_rule::permutation};
    if (t.ne.size() == 1) return {value_rule::near_one, 0.02f};  // norms, layer scalars, router/expert scales
    if (t.name == "per_layer_token_embd.weight")
        return {value_rule::normal, 1.0f / std::sqrt(static_cast<float>(std::max<int64_t>(c.ple_dim, 1)))};
    return {value_rule::normal, 1.0f / std::sqrt(static_cast<float>(t.ne[0]))};
}

// Fills `out` with the tensor's bytes. Each row has its own random stream (seeded from the file
// seed, the tensor name and the row index), so the bytes do not depend on the thread count.
void generate_tensor(const planned_tensor& t, const value_rule& rule, const gemma4_text_config& c, uint64_t seed,
                     thread_pool& pool, std::vector<uint8_t>& out) {
    const int64_t row = t.ne[0];
    int64_t rows = 1;
    for (size_t d = 1; d < t.ne.size(); ++d) rows *= t.ne[d];
    const size_t rb = row_bytes(t.type, row);
    out.resize(rb * static_cast<size_t>(rows));
    const uint64_t tensor_seed = seed ^ hash_name(t.name);

    if (rule.kind == value_rule::rope_freqs || rule.kind == value_rule::permutation) {
        std::vector<float> v;  // f32 [row]
        if (rule.kind == value_rule::rope_freqs) {
            v = gemma4_rope_freqs(c);
        } else {
            v.resize(static_cast<size_t>(row));
            std::vector<int32_t> ids(static_cast<size_t>(row));
            for (int64_t i = 0; i < row; ++i) ids[static_cast<size_t>(i)] = static_cast<int32_t>(i);
            uint64_t s = tensor_seed;
            for (int64_t i = row - 1; i > 0; --i) std::swap(ids[static_cast<size_t>(i)], ids[splitmix64(s) % static_cast<uint64_t>(i + 1)]);
            for (int64_t i = 0; i < row; ++i) v[static_cast<size_t>(i)] = static_cast<float>(ids[static_cast<size_t>(i)]);
        }
        if (static_cast<int64_t>(v.size()) != row || rows != 1) abort_at(__FILE__, __LINE__, "generated vector size");
        quantize_row(t.type, v.data(), out.data(), row);
        return;
    }

    const int64_t rows_per_task = std::max<int64_t>(1, (1 << 16) / row);
    const int64_t n_tasks = (rows + rows_per_task - 1) / rows_per_task;
    std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()), std::vector<float>(static_cast<size_t>(row)));
    pool.parallel_for(n_tasks, [&](int64_t task, int thread) {
        float* buf = scratch[static_cast<size_t>(thread)].data();  // f32 [row]
        const int64_t r1 = std::min(rows, (task + 1) * rows_per_task);
        for (int64_t r = task * rows_per_task; r < r1; ++r) {
            uint64_t s = tensor_seed + static_cast<uint64_t>(r) * 0xD1B54A32D192ED03ull;
            if (rule.kind == value_rule::near_one) {
                for (int64_t i = 0; i < row; ++i) buf[i] = 1.0f + rule.std * normal_from_bits(splitmix64(s));
            } else {
                for (int64_t i = 0; i < row; ++i) buf[i] = rule.std * normal_from_bits(splitmix64(s));
            }
            quantize_row(t.type, buf, out.data() + rb * static_cast<size_t>(r), row);
        }
    });
}

// The tensors a checkpoint of this config has, with GGUF names and shapes, in llama.cpp's order
// for generated tensors (rope_freqs first) and then model, layers, head.
std::vector<std::pair<std::string, std::vector<int64_t>>> tensor_shapes(const hf_model_config& m) {
    const auto& c = m.text;
    const int64_t H = c.hidden_size, V = c.vocab_size, L = c.n_layer, P = c.ple_dim;
    std::vector<std::pair<std::string, std::vector<int64_t>>> out;
    out.push_back({"rope_freqs.weight", {c.head_dim_full / 2}});
    out.push_back({"token_embd.weight", {H, V}});
    if (P > 0) {
        out.push_back({"per_layer_token_embd.weight", {L * P, c.vocab_size_per_layer_input}});
        out.push_back({"per_layer_model_proj.weight", {H, L * P}});
        out.push_back({"per_layer_proj_norm.weight", {P}});
    }
    for (int64_t il = 0; il < L; ++il) {
        const size_t l = static_cast<size_t>(il);
        const int64_t D = c.head_dim[l], nq = c.n_head, nkv = c.n_head_kv[l], FF = c.n_ff[l];
        auto add = [&](const char* suffix, std::vector<int64_t> ne) {
            out.push_back({fmt::format("blk.{}.{}", il, suffix), std::move(ne)});
        };
        add("attn_norm.weight", {H});
        add("attn_q.weight", {H, nq * D});
        add("attn_q_norm.weight", {D});
        if (!m.assistant && c.has_kv(il)) {
            add("attn_k.weight", {H, nkv * D});
            add("attn_k_norm.weight", {D});
            if (!(c.k_eq_v && !c.is_swa[l])) add("attn_v.weight", {H, nkv * D});
        }
        add("attn_output.weight", {nq * D, H});
        add("post_attention_norm.weight", {H});
        add("ffn_norm.weight", {H});
        add("ffn_gate.weight", {H, FF});
        add("ffn_up.weight", {H, FF});
        add("ffn_down.weight", {FF, H});
        add("post_ffw_norm.weight", {H});
        add("layer_output_scale.weight", {1});
        if (P > 0) {
            add("inp_gate.weight", {H, P});
            add("proj.weight", {P, H});
            add("post_norm.weight", {H});
        }
        if (c.moe) {
            const int64_t E = c.n_expert, EFF = c.expert_ff;
            add("ffn_gate_inp.weight", {H, E});
            add("ffn_gate_inp.scale", {H});
            add("ffn_down_exps.scale", {E});
            add("pre_ffw_norm_2.weight", {H});
            add("post_ffw_norm_1.weight", {H});
            add("post_ffw_norm_2.weight", {H});
            add("ffn_gate_up_exps.weight", {H, 2 * EFF, E});
            add("ffn_down_exps.weight", {EFF, H, E});
        }
    }
    out.push_back({"output_norm.weight", {H}});
    if (m.assistant) {
        const int64_t B = m.assistant->backbone_hidden_size;
        out.push_back({"nextn.pre_projection.weight", {2 * B, H}});
        out.push_back({"nextn.post_projection.weight", {H, B}});
        if (m.assistant->use_ordered_embeddings) {
            out.push_back({"masked_embd_centroids.weight", {H, m.assistant->num_centroids}});
            out.push_back({"masked_embd_ordering", {V}});
        }
    }
    return out;
}

int64_t json_int(const json& j, const char* key, int64_t fallback) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    if (!it->is_number_integer()) fail("config: '{}' must be an integer", key);
    return it->get<int64_t>();
}

}  // namespace

json shrink_config(const json& config, int64_t n_layers, int64_t n_vocab) {
    json out = config;
    if (!out.is_object()) fail("config: not a JSON object");
    const bool nested = out.contains("text_config");
    json& t = nested ? out["text_config"] : out;
    if (!t.is_object()) fail("config: 'text_config' must be an object");
    const bool assistant = parse_hf_config(config).is_assistant;

    if (n_layers > 0) {
        const int64_t L = json_int(t, "num_hidden_layers", 0);
        if (n_layers > L) fail("--layers {} exceeds the config's {} layers", n_layers, L);
        const int64_t drop = L - n_layers;
        t["num_hidden_layers"] = n_layers;
        if (t.contains("layer_types") && t["layer_types"].is_array() && static_cast<int64_t>(t["layer_types"].size()) == L) {
            json kept = json::array();
            for (int64_t i = drop; i < L; ++i) kept.push_back(t["layer_types"][static_cast<size_t>(i)]);
            t["layer_types"] = kept;
        }
        if (t.contains("per_layer_config") && t["per_layer_config"].is_object()) {
            json kept = json::object();
            for (auto it = t["per_layer_config"].begin(); it != t["per_layer_config"].end(); ++it) {
                int64_t il = -1;
                try {
                    il = std::stoll(it.key());
                } catch (...) {
                    fail("config: per_layer_config key '{}' is not a layer index", it.key());
                }
                if (il >= drop) kept[std::to_string(il - drop)] = it.value();
            }
            t["per_layer_config"] = kept;
        }
        const int64_t shared = json_int(t, "num_kv_shared_layers", 0);
        if (assistant) {
            if (t.contains("num_kv_shared_layers")) t["num_kv_shared_layers"] = n_layers;
        } else {
            // Every KV-shared layer reads the last earlier non-shared layer of its type.
            json probe = t;
            probe["num_kv_shared_layers"] = 0;
            gemma4_text_config c0 = parse_text_config(probe, false);
            int64_t s = std::min<int64_t>(n_layers - 1, (shared * n_layers + L / 2) / std::max<int64_t>(L, 1));
            auto valid = [&](int64_t s_try) {
                const int64_t first = n_layers - s_try;
                for (int64_t il = first; il < n_layers; ++il) {
                    bool donor = false;
                    for (int64_t j = 0; j < first; ++j) donor |= c0.is_swa[static_cast<size_t>(j)] == c0.is_swa[static_cast<size_t>(il)];
                    if (!donor) return false;
                }
                return true;
            };
            while (s > 0 && !valid(s)) --s;
            if (t.contains("num_kv_shared_layers") || s > 0) t["num_kv_shared_layers"] = std::max<int64_t>(s, 0);
        }
    }
    if (n_vocab > 0) {
        t["vocab_size"] = n_vocab;
        if (json_int(t, "vocab_size_per_layer_input", 0) > 0) t["vocab_size_per_layer_input"] = n_vocab;
        if (nested && out.contains("vocab_size")) out["vocab_size"] = n_vocab;
        const int64_t centroids = json_int(out, "num_centroids", 0);
        if (assistant && centroids > 0 && n_vocab % centroids != 0)
            fail("--vocab {} must be a multiple of the assistant's num_centroids ({})", n_vocab, centroids);
    }
    return out;
}

synth_plan plan_synth(const json& config, const std::string& config_name, const synth_options& opt) {
    synth_plan p;
    json shrunk = shrink_config(config, opt.n_layers, opt.n_vocab);
    if (!opt.centroids && shrunk.contains("use_ordered_embeddings")) shrunk["use_ordered_embeddings"] = false;
    p.config = parse_hf_config(shrunk);
    const hf_model_config& m = p.config;
    if (m.assistant && m.assistant->use_ordered_embeddings &&
        (m.assistant->num_centroids <= 0 || m.text.vocab_size % m.assistant->num_centroids != 0))
        fail("config: vocab_size {} is not a multiple of num_centroids {}", m.text.vocab_size, m.assistant->num_centroids);
    for (auto& [name, ne] : tensor_shapes(m)) {
        dtype type = convert_type(name, ne, opt.type);
        p.tensors.push_back(planned_tensor{name, type, ne, ""});
    }
    std::string name = opt.name;
    if (name.empty()) name = name_from_dir(fs::path(config_name).stem().string());
    write_gemma4_metadata(p.writer, m, opt.type, name, size_label_of(p.tensors));
    write_vocab_gguf(synth_vocab(m.text.vocab_size), p.writer);

    auto pool = std::make_shared<thread_pool>(opt.n_threads > 0 ? opt.n_threads : default_thread_count());
    auto text = std::make_shared<gemma4_text_config>(m.text);
    for (const planned_tensor& t : p.tensors) {
        value_rule rule = rule_for(t, m.text);
        const uint64_t seed = opt.seed;
        p.writer.add_tensor(t.name, t.type, t.ne, [t, rule, text, seed, pool](std::vector<uint8_t>& out) {
            generate_tensor(t, rule, *text, seed, *pool, out);
        });
    }
    return p;
}

void synth_model(const std::string& config_path, const std::string& out_path, const synth_options& opt,
                 const std::function<void(size_t, size_t, const planned_tensor&)>& progress) {
    std::ifstream in(config_path);
    if (!in) fail("cannot open config '{}'", config_path);
    json j;
    try {
        j = json::parse(in);
    } catch (const json::exception& e) {
        fail("{}: not valid JSON: {}", config_path, e.what());
    }
    synth_plan p = plan_synth(j, config_path, opt);
    try {
        p.writer.write(out_path, [&](size_t i, size_t n, const std::string&) {
            if (progress) progress(i, n, p.tensors[i]);
        });
    } catch (...) {
        std::error_code ec;
        fs::remove(out_path + ".tmp", ec);
        throw;
    }
}

}  // namespace lf
