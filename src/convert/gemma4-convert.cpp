// Gemma 4 HF → GGUF mapping. The plan (names, shapes, types, metadata) is built and checked in
// full before the writer produces any tensor bytes, so bad input never leaves a partial file.
#include "convert/gemma4-convert.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "convert/quant-policy.h"
#include "convert/safetensors.h"
#include "convert/vocab-from-hf.h"
#include "core/error.h"
#include "core/thread-pool.h"
#include "quant/quant.h"

namespace lf {

namespace fs = std::filesystem;

namespace {

bool starts_with(const std::string& s, std::string_view p) { return s.compare(0, p.size(), p) == 0; }

std::string shape_str(const std::vector<int64_t>& ne) {
    std::string s = "[";
    for (size_t i = 0; i < ne.size(); ++i) s += (i ? ", " : "") + std::to_string(ne[i]);
    return s + "]";
}

// Names inside one decoder layer: HF suffix → GGUF suffix.
struct name_pair {
    const char* hf;
    const char* gguf;
};

constexpr name_pair k_layer_names[] = {
    {"input_layernorm.weight", "attn_norm.weight"},
    {"self_attn.q_proj.weight", "attn_q.weight"},
    {"self_attn.k_proj.weight", "attn_k.weight"},
    {"self_attn.v_proj.weight", "attn_v.weight"},
    {"self_attn.o_proj.weight", "attn_output.weight"},
    {"self_attn.q_norm.weight", "attn_q_norm.weight"},
    {"self_attn.k_norm.weight", "attn_k_norm.weight"},
    {"post_attention_layernorm.weight", "post_attention_norm.weight"},
    {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
    {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"},
    {"mlp.gate_proj.weight", "ffn_gate.weight"},
    {"mlp.up_proj.weight", "ffn_up.weight"},
    {"mlp.down_proj.weight", "ffn_down.weight"},
    {"layer_scalar", "layer_output_scale.weight"},
    {"per_layer_input_gate.weight", "inp_gate.weight"},
    {"per_layer_projection.weight", "proj.weight"},
    {"post_per_layer_input_norm.weight", "post_norm.weight"},
    // Mixture of experts (26B-A4B): router, expert stacks, and the extra norms around them.
    {"router.proj.weight", "ffn_gate_inp.weight"},
    {"router.scale", "ffn_gate_inp.scale"},
    {"router.per_expert_scale", "ffn_down_exps.scale"},  // llama.cpp applies it to each expert's output
    {"pre_feedforward_layernorm_2.weight", "pre_ffw_norm_2.weight"},
    {"post_feedforward_layernorm_1.weight", "post_ffw_norm_1.weight"},
    {"post_feedforward_layernorm_2.weight", "post_ffw_norm_2.weight"},
    {"experts.gate_up_proj", "ffn_gate_up_exps.weight"},  // [E, 2*FF, H]: gate rows first
    {"experts.down_proj", "ffn_down_exps.weight"},        // [E, H, FF]
};

// Model-level names under the text prefix.
constexpr name_pair k_model_names[] = {
    {"embed_tokens.weight", "token_embd.weight"},
    {"embed_tokens_per_layer.weight", "per_layer_token_embd.weight"},
    {"per_layer_model_projection.weight", "per_layer_model_proj.weight"},
    {"per_layer_projection_norm.weight", "per_layer_proj_norm.weight"},
    {"norm.weight", "output_norm.weight"},
};

// Assistant names outside the decoder.
constexpr name_pair k_assistant_names[] = {
    {"pre_projection.weight", "nextn.pre_projection.weight"},
    {"post_projection.weight", "nextn.post_projection.weight"},
    {"masked_embedding.centroids.weight", "masked_embd_centroids.weight"},
    // int64 token ids in HF. GGUF has no int64 type among ours; ids < 2^24 are exact in F32 and
    // every Gemma 4 vocabulary (262144) is far below that.
    {"masked_embedding.token_ordering", "masked_embd_ordering"},
};

const char* lookup(const name_pair* begin, const name_pair* end, const std::string& hf) {
    for (auto p = begin; p != end; ++p)
        if (hf == p->hf) return p->gguf;
    return nullptr;
}

// The GGUF shape a tensor must have, from the config. `suffix` is the GGUF name without "blk.N.".
std::vector<int64_t> expected_ne(const std::string& suffix, int64_t il, const hf_model_config& m) {
    const auto& c = m.text;
    const int64_t H = c.hidden_size, V = c.vocab_size, L = c.n_layer, P = c.ple_dim;
    if (il < 0) {
        if (suffix == "token_embd.weight") return {H, V};
        if (suffix == "per_layer_token_embd.weight") return {L * P, c.vocab_size_per_layer_input};
        if (suffix == "per_layer_model_proj.weight") return {H, L * P};
        if (suffix == "per_layer_proj_norm.weight") return {P};
        if (suffix == "output_norm.weight") return {H};
        const int64_t B = m.assistant ? m.assistant->backbone_hidden_size : 0;
        if (suffix == "nextn.pre_projection.weight") return {2 * B, H};
        if (suffix == "nextn.post_projection.weight") return {H, B};
        if (suffix == "masked_embd_centroids.weight") return {H, m.assistant ? m.assistant->num_centroids : 0};
        if (suffix == "masked_embd_ordering") return {V};
        abort_at(__FILE__, __LINE__, "no shape rule for a mapped tensor");
    }
    const size_t l = static_cast<size_t>(il);
    const int64_t D = c.head_dim[l], nq = c.n_head, nkv = c.n_head_kv[l], FF = c.n_ff[l];
    const int64_t E = c.n_expert, EFF = c.expert_ff;
    if (suffix == "attn_q.weight") return {H, nq * D};
    if (suffix == "attn_k.weight" || suffix == "attn_v.weight") return {H, nkv * D};
    if (suffix == "attn_output.weight") return {nq * D, H};
    if (suffix == "attn_q_norm.weight" || suffix == "attn_k_norm.weight") return {D};
    if (suffix == "ffn_gate.weight" || suffix == "ffn_up.weight") return {H, FF};
    if (suffix == "ffn_down.weight") return {FF, H};
    if (suffix == "layer_output_scale.weight") return {1};
    if (suffix == "inp_gate.weight") return {H, P};
    if (suffix == "proj.weight") return {P, H};
    if (suffix == "ffn_gate_inp.weight") return {H, E};
    if (suffix == "ffn_gate_inp.scale") return {H};
    if (suffix == "ffn_down_exps.scale") return {E};
    if (suffix == "ffn_gate_up_exps.weight") return {H, 2 * EFF, E};
    if (suffix == "ffn_down_exps.weight") return {EFF, H, E};
    // Every remaining layer tensor is a norm over the residual width.
    return {H};
}

// Layer tensors that only exist with a feature turned on: the feature's name when it is off.
const char* missing_feature(const std::string& suffix, const gemma4_text_config& c) {
    static const std::set<std::string> ple = {"inp_gate.weight", "proj.weight", "post_norm.weight"};
    static const std::set<std::string> moe = {"ffn_gate_inp.weight", "ffn_gate_inp.scale", "ffn_down_exps.scale",
                                              "pre_ffw_norm_2.weight", "post_ffw_norm_1.weight",
                                              "post_ffw_norm_2.weight", "ffn_gate_up_exps.weight",
                                              "ffn_down_exps.weight"};
    if (ple.count(suffix) && c.ple_dim == 0) return "per-layer inputs (hidden_size_per_layer_input is 0)";
    if (moe.count(suffix) && !c.moe) return "a mixture of experts (enable_moe_block is false)";
    return nullptr;
}

std::vector<std::string> required_tensors(const hf_model_config& m) {
    const auto& c = m.text;
    std::vector<std::string> r = {"token_embd.weight", "output_norm.weight"};
    if (c.ple_dim > 0)
        for (const char* n : {"per_layer_token_embd.weight", "per_layer_model_proj.weight", "per_layer_proj_norm.weight"})
            r.push_back(n);
    if (m.assistant) {
        r.push_back("nextn.pre_projection.weight");
        r.push_back("nextn.post_projection.weight");
        if (m.assistant->use_ordered_embeddings) {
            r.push_back("masked_embd_centroids.weight");
            r.push_back("masked_embd_ordering");
        }
    }
    for (int64_t il = 0; il < c.n_layer; ++il) {
        std::vector<std::string> s = {"attn_norm.weight", "attn_q.weight", "attn_q_norm.weight", "attn_output.weight",
                                      "post_attention_norm.weight", "ffn_norm.weight", "post_ffw_norm.weight",
                                      "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight"};
        // llama.cpp's assistant loader requires the layer scalar; the target's treats it as optional.
        if (m.assistant) s.push_back("layer_output_scale.weight");
        if (!m.assistant && c.has_kv(il)) {
            s.push_back("attn_k.weight");
            s.push_back("attn_k_norm.weight");
            if (!(c.k_eq_v && !c.is_swa[static_cast<size_t>(il)])) s.push_back("attn_v.weight");
        }
        if (c.ple_dim > 0)
            for (const char* n : {"inp_gate.weight", "proj.weight", "post_norm.weight"}) s.push_back(n);
        if (c.moe)
            for (const char* n : {"ffn_gate_inp.weight", "ffn_gate_inp.scale", "ffn_down_exps.scale", "pre_ffw_norm_2.weight",
                                  "post_ffw_norm_1.weight", "post_ffw_norm_2.weight", "ffn_gate_up_exps.weight",
                                  "ffn_down_exps.weight"})
                s.push_back(n);
        for (const auto& x : s) r.push_back(fmt::format("blk.{}.{}", il, x));
    }
    return r;
}

// Maps one HF tensor name. Returns "" for a tensor to skip, the GGUF name otherwise; throws for
// a name that belongs to the text model but is not a known Gemma 4 weight.
struct mapped_name {
    std::string gguf;
    std::string suffix;  // GGUF name without "blk.N."
    int64_t il = -1;
};

std::optional<mapped_name> map_name(const std::string& hf, const hf_model_config& m) {
    const bool multimodal = m.architecture == "Gemma4ForConditionalGeneration" ||
                            m.architecture == "Gemma4UnifiedForConditionalGeneration";
    const std::string prefix = multimodal ? "model.language_model." : "model.";
    if (hf == "lm_head.weight") return std::nullopt;  // tied to token_embd
    if (m.assistant) {
        if (const char* g = lookup(std::begin(k_assistant_names), std::end(k_assistant_names), hf)) {
            bool masked = starts_with(hf, "masked_embedding.");
            // Without ordered embeddings transformers never uses the centroid head.
            if (masked && !m.assistant->use_ordered_embeddings) return std::nullopt;
            return mapped_name{g, g, -1};
        }
    }
    if (!starts_with(hf, prefix)) {
        // Vision/audio towers and their embedders sit beside the language model.
        if (multimodal) return std::nullopt;
        fail("checkpoint tensor '{}' is not part of a Gemma 4 {} (expected names under '{}')", hf,
             m.assistant ? "assistant" : "text model", prefix);
    }
    std::string rest = hf.substr(prefix.size());
    if (const char* g = lookup(std::begin(k_model_names), std::end(k_model_names), rest)) {
        if (starts_with(rest, "embed_tokens_per_layer") || starts_with(rest, "per_layer_"))
            if (m.text.ple_dim == 0) fail("checkpoint tensor '{}' needs per-layer inputs, but hidden_size_per_layer_input is 0", hf);
        return mapped_name{g, g, -1};
    }
    if (starts_with(rest, "layers.")) {
        size_t dot = rest.find('.', 7);
        std::string idx = rest.substr(7, dot == std::string::npos ? std::string::npos : dot - 7);
        bool digits = !idx.empty() && idx.size() < 10 &&
                      std::all_of(idx.begin(), idx.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        if (digits && dot != std::string::npos) {
            int64_t il = std::stoll(idx);
            if (il >= m.text.n_layer)
                fail("checkpoint tensor '{}' names layer {}, but the config has {} layers", hf, il, m.text.n_layer);
            std::string lrest = rest.substr(dot + 1);
            if (const char* g = lookup(std::begin(k_layer_names), std::end(k_layer_names), lrest)) {
                if (const char* feature = missing_feature(g, m.text))
                    fail("checkpoint tensor '{}' belongs to {}, which config.json leaves off", hf, feature);
                return mapped_name{fmt::format("blk.{}.{}", il, g), g, il};
            }
        }
    }
    fail("checkpoint tensor '{}' is not a known Gemma 4 weight", hf);
}

// Rows of tokenizer.json (model vocab + added tokens), as llama.cpp counts them to drop
// out-of-vocabulary embedding rows; 0 when there is no tokenizer.json.
int64_t tokenizer_vocab_rows(const std::string& hf_dir) {
    fs::path p = fs::path(hf_dir) / "tokenizer.json";
    std::error_code ec;
    if (!fs::exists(p, ec)) return 0;
    std::ifstream in(p);
    if (!in) fail("cannot open '{}'", p.string());
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        fail("{}: not valid JSON: {}", p.string(), e.what());
    }
    int64_t n = 0;
    if (j.is_object() && j.contains("model") && j["model"].is_object() && j["model"].contains("vocab")) {
        const auto& v = j["model"]["vocab"];
        if (v.is_object() || v.is_array()) n += static_cast<int64_t>(v.size());
    }
    if (j.is_object() && j.contains("added_tokens") && j["added_tokens"].is_array())
        n += static_cast<int64_t>(j["added_tokens"].size());
    return n;
}

// Fills `out` with the tensor converted to `type`, row by row (rows across threads).
void convert_rows(const st_tensor& t, dtype type, int64_t row, int64_t rows, thread_pool& pool,
                  std::vector<uint8_t>& out) {
    const size_t rb = row_bytes(type, row);
    out.resize(rb * static_cast<size_t>(rows));
    bool floats = t.type == st_dtype::f32 || t.type == st_dtype::f16 || t.type == st_dtype::bf16;
    if (!floats || rows * row < (1 << 16)) {
        // Integer buffers can fail their exactness check; keep them (and small tensors) on this thread.
        std::vector<float> buf(static_cast<size_t>(row));  // f32 [row]
        for (int64_t r = 0; r < rows; ++r) {
            st_read_f32(t, r * row, row, buf.data());
            quantize_row(type, buf.data(), out.data() + rb * static_cast<size_t>(r), row);
        }
        return;
    }
    const int64_t rows_per_task = std::max<int64_t>(1, (1 << 16) / std::max<int64_t>(row, 1));
    const int64_t n_tasks = (rows + rows_per_task - 1) / rows_per_task;
    std::vector<std::vector<float>> scratch(static_cast<size_t>(pool.size()), std::vector<float>(static_cast<size_t>(row)));
    pool.parallel_for(n_tasks, [&](int64_t task, int thread) {
        float* buf = scratch[static_cast<size_t>(thread)].data();  // f32 [row]
        int64_t r1 = std::min(rows, (task + 1) * rows_per_task);
        for (int64_t r = task * rows_per_task; r < r1; ++r) {
            st_read_f32(t, r * row, row, buf);
            quantize_row(type, buf, out.data() + rb * static_cast<size_t>(r), row);
        }
    });
}

std::optional<std::vector<int32_t>> read_suppress_tokens(const std::string& hf_dir) {
    fs::path p = fs::path(hf_dir) / "generation_config.json";
    std::error_code ec;
    if (!fs::exists(p, ec)) return std::nullopt;
    std::ifstream in(p);
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        fail("{}: not valid JSON: {}", p.string(), e.what());
    }
    if (!j.is_object() || !j.contains("suppress_tokens") || j["suppress_tokens"].is_null()) return std::nullopt;
    const auto& s = j["suppress_tokens"];
    if (!s.is_array()) fail("{}: suppress_tokens must be an array of token ids", p.string());
    std::vector<int32_t> ids;
    for (const auto& v : s) {
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > INT32_MAX)
            fail("{}: suppress_tokens holds a value that is not a token id: {}", p.string(), v.dump());
        ids.push_back(static_cast<int32_t>(v.get<int64_t>()));
    }
    return ids;
}

}  // namespace

std::string gguf_arch(const hf_model_config& cfg) { return cfg.assistant ? "gemma4-assistant" : "gemma4"; }

std::vector<float> gemma4_rope_freqs(const gemma4_text_config& c) {
    // Matches llama.cpp's int() truncations.
    const int64_t n_rot = static_cast<int64_t>(static_cast<double>(c.head_dim_full) * c.partial_rotary_full / 2);
    const int64_t n_half = c.head_dim_full / 2;
    std::vector<float> v(static_cast<size_t>(n_half), 1e30f);
    for (int64_t i = 0; i < std::min(n_rot, n_half); ++i) v[static_cast<size_t>(i)] = 1.0f;
    return v;
}

void write_gemma4_metadata(gguf_writer& w, const hf_model_config& m, dtype outtype, const std::string& name,
                           const std::string& size_label) {
    const auto& c = m.text;
    const std::string A = gguf_arch(m);
    auto key = [&](const char* k) { return A + "." + k; };
    auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
    auto i32_array = [](const std::vector<int64_t>& v) {
        // llama.cpp's writer stores Python int lists as INT32 arrays.
        std::vector<int32_t> out(v.begin(), v.end());
        return gguf_value::make_arr_i32(out);
    };

    w.set_str("general.architecture", A);
    w.set_str("general.type", "model");
    w.set_str("general.name", name);
    if (!size_label.empty()) w.set_str("general.size_label", size_label);
    w.set_u32(key("block_count"), u32(c.n_layer));
    w.set_u32(key("context_length"), u32(c.max_position_embeddings));
    w.set_u32(key("embedding_length"), u32(c.hidden_size));
    if (c.double_wide_mlp) w.set(key("feed_forward_length"), i32_array(c.n_ff));
    else w.set_u32(key("feed_forward_length"), u32(c.intermediate_size));
    w.set_u32(key("attention.head_count"), u32(c.n_head));
    if (c.n_head_kv_per_layer) w.set(key("attention.head_count_kv"), i32_array(c.n_head_kv));
    else w.set_u32(key("attention.head_count_kv"), u32(c.n_head_kv[0]));
    w.set_f32(key("rope.freq_base"), static_cast<float>(c.rope_theta_full));
    w.set_f32(key("rope.freq_base_swa"), static_cast<float>(c.rope_theta_swa));
    w.set_f32(key("attention.layer_norm_rms_epsilon"), static_cast<float>(c.rms_norm_eps));
    if (c.moe) {
        w.set_u32(key("expert_count"), u32(c.n_expert));
        w.set_u32(key("expert_used_count"), u32(c.n_expert_used));
    }
    w.set_u32(key("attention.key_length"), u32(c.head_dim_full));
    w.set_u32(key("attention.value_length"), u32(c.head_dim_full));
    w.set_u32("general.file_type", file_type_of(outtype));
    if (c.final_logit_softcapping) w.set_f32(key("final_logit_softcapping"), static_cast<float>(*c.final_logit_softcapping));
    w.set_u32(key("attention.sliding_window"), u32(c.sliding_window));
    w.set_u32(key("attention.shared_kv_layers"), u32(c.n_kv_shared_layers));
    w.set_u32(key("embedding_length_per_layer_input"), u32(c.ple_dim));
    w.set(key("attention.sliding_window_pattern"), gguf_value::make_arr_bool(c.is_swa));
    w.set_u32(key("attention.key_length_swa"), u32(c.head_dim_swa));
    w.set_u32(key("attention.value_length_swa"), u32(c.head_dim_swa));
    if (c.moe) w.set_u32(key("expert_feed_forward_length"), u32(c.expert_ff));
    // Full layers rope over all D_f dims; rope_freqs switches off the unrotated part.
    w.set_u32(key("rope.dimension_count"), u32(c.head_dim_full));
    w.set_u32(key("rope.dimension_count_swa"),
              u32(static_cast<int64_t>(static_cast<double>(c.head_dim_swa) * c.partial_rotary_swa)));
    if (m.assistant) {
        w.set_u32(key("embedding_length_out"), u32(m.assistant->backbone_hidden_size));
        w.set_u32(key("nextn_predict_layers"), u32(c.n_layer));
        // Not written by llama.cpp (which ignores the centroid head): the masked LM head needs
        // the number of clusters it keeps per step, which no tensor shape carries.
        if (m.assistant->use_ordered_embeddings) {
            w.set_u32(key("masked_embedding.centroid_count"), u32(m.assistant->num_centroids));
            w.set_u32(key("masked_embedding.top_k"), u32(m.assistant->centroid_top_k));
        }
    }
    w.set_u32("general.quantization_version", 2);
}

std::string size_label_of(const std::vector<planned_tensor>& tensors) {
    // llama.cpp's GGUFWriter.get_total_parameter_count and gguf.size_label.
    int64_t total = 0, shared = 0, expert = 0, expert_sum = 0, n_expert_tensors = 0;
    for (const auto& t : tensors) {
        int64_t size = 1;
        for (int64_t d : t.ne) size *= d;
        if (t.name.find("_exps.") != std::string::npos && t.ne.size() >= 3) {
            int64_t e = t.ne[2];
            expert += size / e;
            expert_sum += e;
            ++n_expert_tensors;
        } else {
            shared += size;
        }
        total += size;
    }
    auto rounded = [](int64_t n) {
        double x;
        const char* suffix;
        if (n > 1e12) { x = n * 1e-12; suffix = "T"; }
        else if (n > 1e9) { x = n * 1e-9; suffix = "B"; }
        else if (n > 1e6) { x = n * 1e-6; suffix = "M"; }
        else { x = n * 1e-3; suffix = "K"; }
        std::string digits = fmt::format("{:.0f}", std::nearbyint(x));
        digits.erase(0, digits.find_first_not_of('0') == std::string::npos ? digits.size() : digits.find_first_not_of('0'));
        int fix = std::max(2 - static_cast<int>(digits.size()), 0);
        return fmt::format("{:.{}f}{}", x, fix, suffix);
    };
    if (n_expert_tensors > 0) return fmt::format("{}x{}", expert_sum / n_expert_tensors, rounded(shared + expert));
    return rounded(total);
}

std::string name_from_dir(const std::string& dir) {
    std::error_code ec;
    fs::path p = fs::weakly_canonical(fs::absolute(dir), ec);
    if (ec) p = fs::path(dir);
    std::string base = p.filename().string();
    if (base.empty()) base = p.parent_path().filename().string();
    // gguf-py Metadata.id_to_title: words split on '-' and spaces; all-lowercase words that are
    // not version-like are title-cased as Python's str.title() does.
    std::replace(base.begin(), base.end(), '-', ' ');
    std::istringstream words(base);
    std::string word, out;
    while (words >> word) {
        bool has_cased = false, all_lower = true;
        for (unsigned char ch : word) {
            if (std::isalpha(ch)) has_cased = true;
            if (std::isupper(ch)) all_lower = false;
        }
        bool version = (word.size() >= 2 && word[0] == 'v' && std::isdigit(static_cast<unsigned char>(word[1]))) ||
                       std::isdigit(static_cast<unsigned char>(word[0]));
        if (has_cased && all_lower && !version) {
            bool prev_cased = false;
            for (char& ch : word) {
                unsigned char u = static_cast<unsigned char>(ch);
                ch = static_cast<char>(prev_cased ? std::tolower(u) : std::toupper(u));
                prev_cased = std::isalpha(u) != 0;
            }
        }
        out += (out.empty() ? "" : " ") + word;
    }
    return out;
}

conversion plan_conversion(const std::string& hf_dir, const convert_options& opt) {
    conversion cv;
    std::error_code fs_ec;
    if (opt.vocab_only && !fs::exists(fs::path(hf_dir) / "config.json", fs_ec)) {
        // A tokenizer directory alone (tokenizer.json + tokenizer_config.json): the file carries the
        // architecture name and the tokenizer, nothing about a model.
        if (!fs::exists(fs::path(hf_dir) / "tokenizer.json", fs_ec))
            fail("--vocab-only needs '{}'", (fs::path(hf_dir) / "tokenizer.json").string());
        cv.writer.set_str("general.architecture", "gemma4");
        cv.writer.set_str("general.type", "vocab");
        cv.writer.set_str("general.name", opt.name.empty() ? name_from_dir(hf_dir) : opt.name);
        write_vocab_metadata(hf_dir, cv.writer);
        return cv;
    }
    cv.config = read_hf_config(hf_dir);
    if (opt.no_centroids && cv.config.assistant) cv.config.assistant->use_ordered_embeddings = false;
    const hf_model_config& m = cv.config;
    const auto& c = m.text;
    const std::string name = opt.name.empty() ? name_from_dir(hf_dir) : opt.name;
    std::error_code ec;
    const bool has_tokenizer = fs::exists(fs::path(hf_dir) / "tokenizer.json", ec);

    if (opt.vocab_only) {
        if (!has_tokenizer) fail("--vocab-only needs '{}'", (fs::path(hf_dir) / "tokenizer.json").string());
        write_gemma4_metadata(cv.writer, m, opt.outtype, name, "");
    } else {
        cv.model = std::make_shared<safetensors_model>(safetensors_model::open(hf_dir));
        auto pool = std::make_shared<thread_pool>(opt.n_threads > 0 ? opt.n_threads : default_thread_count());
        const int64_t vocab_rows = has_tokenizer ? tokenizer_vocab_rows(hf_dir) : 0;

        // rope_freqs comes first, as llama.cpp's generated tensors do.
        std::vector<std::pair<planned_tensor, gguf_writer::tensor_source>> plan;
        {
            std::vector<float> freqs = gemma4_rope_freqs(c);
            planned_tensor t{"rope_freqs.weight", dtype::f32, {static_cast<int64_t>(freqs.size())}, ""};
            plan.push_back({t, [freqs](std::vector<uint8_t>& out) {
                                out.resize(freqs.size() * sizeof(float));
                                std::memcpy(out.data(), freqs.data(), out.size());
                            }});
        }
        std::set<std::string> written;
        for (const std::string& hf : cv.model->names()) {
            std::optional<mapped_name> mn = map_name(hf, m);
            if (!mn) {
                cv.skipped.push_back(hf);
                continue;
            }
            const st_tensor& st = cv.model->get(hf);
            if (!st_readable_as_f32(st.type))
                fail("checkpoint tensor '{}' has dtype {}; only F32, F16 and BF16 weights can be converted", hf,
                     st_dtype_name(st.type));
            if (mn->gguf != "masked_embd_ordering" &&
                !(st.type == st_dtype::f32 || st.type == st_dtype::f16 || st.type == st_dtype::bf16))
                fail("checkpoint tensor '{}' has dtype {}; only F32, F16 and BF16 weights can be converted", hf,
                     st_dtype_name(st.type));
            std::vector<int64_t> ne(st.shape.rbegin(), st.shape.rend());
            if (ne.empty()) ne.push_back(1);  // a 0-d scalar is stored as {1}
            std::vector<int64_t> want = expected_ne(mn->suffix, mn->il, m);
            if (ne != want)
                fail("checkpoint tensor '{}' ({}) has shape {} (GGUF order), expected {} from config.json", hf, mn->gguf,
                     shape_str(ne), shape_str(want));
            if (!written.insert(mn->gguf).second) fail("two checkpoint tensors map to '{}'", mn->gguf);
            // llama.cpp drops embedding rows beyond the tokenizer's vocabulary.
            if (mn->gguf == "token_embd.weight" && vocab_rows > 0 && vocab_rows < ne[1]) ne[1] = vocab_rows;

            planned_tensor t{mn->gguf, convert_type(mn->gguf, ne, opt.outtype), ne, hf};
            const st_tensor* src = &st;
            auto model = cv.model;  // keeps the map alive while the writer runs
            int64_t row = ne[0], rows = 1;
            for (size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
            dtype type = t.type;
            plan.push_back({t, [model, pool, src, type, row, rows](std::vector<uint8_t>& out) {
                                convert_rows(*src, type, row, rows, *pool, out);
                            }});
        }
        for (const auto& r : required_tensors(m))
            if (!written.count(r)) fail("checkpoint lacks the tensor for '{}'", r);

        for (const auto& [t, source] : plan) cv.tensors.push_back(t);
        write_gemma4_metadata(cv.writer, m, opt.outtype, name, size_label_of(cv.tensors));
        for (auto& [t, source] : plan) cv.writer.add_tensor(t.name, t.type, t.ne, std::move(source));
    }

    if (has_tokenizer) write_vocab_metadata(hf_dir, cv.writer);
    if (m.architecture == "Gemma4UnifiedForConditionalGeneration")
        if (auto ids = read_suppress_tokens(hf_dir)) cv.writer.set("tokenizer.ggml.suppress_tokens", gguf_value::make_arr_i32(*ids));
    return cv;
}

void convert_hf_to_gguf(const std::string& hf_dir, const std::string& out_path, const convert_options& opt,
                        const std::function<void(size_t, size_t, const planned_tensor&)>& progress) {
    conversion cv = plan_conversion(hf_dir, opt);
    std::map<std::string, const planned_tensor*> by_name;
    for (const auto& t : cv.tensors) by_name[t.name] = &t;
    try {
        cv.writer.write(out_path, [&](size_t i, size_t n, const std::string& name) {
            if (progress) progress(i, n, *by_name.at(name));
        });
    } catch (...) {
        std::error_code ec;
        fs::remove(out_path + ".tmp", ec);
        throw;
    }
}

}  // namespace lf
