// Gemma 4 config.json parsing. Defaults follow transformers' Gemma4TextConfig where a field may be
// absent (layer_types: every 6th layer full; the last layer is always full).
#include "convert/hf-config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace lf {

namespace {

using json = nlohmann::json;

// A field that is absent or JSON null counts as not given.
const json* field(const json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return nullptr;
    return &*it;
}

int64_t as_int(const json& v, const std::string& what) {
    if (!v.is_number_integer()) fail("config: {} must be an integer, found {}", what, v.dump());
    if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
        fail("config: {} is out of range", what);
    return v.get<int64_t>();
}

int64_t req_int(const json& j, const char* key, const std::string& ctx, int64_t min_value = 1) {
    const json* v = field(j, key);
    if (!v) fail("config: {}{} is missing", ctx, key);
    int64_t x = as_int(*v, ctx + key);
    if (x < min_value) fail("config: {}{} = {} (must be at least {})", ctx, key, x, min_value);
    // Anything larger cannot describe a real tensor dimension and would overflow shape arithmetic.
    if (x > (int64_t(1) << 32)) fail("config: {}{} = {} is implausibly large", ctx, key, x);
    return x;
}

int64_t opt_int(const json& j, const char* key, const std::string& ctx, int64_t def, int64_t min_value = 0) {
    if (!field(j, key)) return def;
    return req_int(j, key, ctx, min_value);
}

double opt_float(const json& j, const char* key, const std::string& ctx, double def) {
    const json* v = field(j, key);
    if (!v) return def;
    if (!v->is_number()) fail("config: {}{} must be a number, found {}", ctx, key, v->dump());
    return v->get<double>();
}

bool opt_bool(const json& j, const char* key, const std::string& ctx, bool def) {
    const json* v = field(j, key);
    if (!v) return def;
    if (!v->is_boolean()) fail("config: {}{} must be true or false, found {}", ctx, key, v->dump());
    return v->get<bool>();
}

struct rope_params {
    std::string type = "default";
    double theta = 0;
    double partial = 1.0;
};

rope_params read_rope(const json& rp, const char* layer_type, const std::string& ctx, double def_theta,
                      const char* def_type, double def_partial) {
    rope_params r{def_type, def_theta, def_partial};
    const json* p = field(rp, layer_type);
    if (!p) return r;
    std::string c = ctx + "rope_parameters." + layer_type + ".";
    if (!p->is_object()) fail("config: {}rope_parameters.{} must be an object", ctx, layer_type);
    if (const json* t = field(*p, "rope_type")) {
        if (!t->is_string()) fail("config: {}rope_type must be a string", c);
        r.type = t->get<std::string>();
    }
    r.theta = opt_float(*p, "rope_theta", c, def_theta);
    r.partial = opt_float(*p, "partial_rotary_factor", c, r.type == "proportional" ? def_partial : 1.0);
    // Plain rope with a partial rotation would rotate a differently scaled subset; only
    // "proportional" expresses partial rotation for Gemma 4.
    if (r.type == "default" && r.partial != 1.0)
        fail("config: {}partial_rotary_factor {} needs rope_type proportional", c, r.partial);
    if (!(r.theta > 0)) fail("config: {}rope_theta must be positive", c);
    if (!(r.partial > 0 && r.partial <= 1)) fail("config: {}partial_rotary_factor {} is outside (0, 1]", c, r.partial);
    return r;
}

}  // namespace

gemma4_text_config parse_text_config(const json& j, bool assistant) {
    const std::string ctx = assistant ? "text_config." : "";
    if (!j.is_object()) fail("config: {}text config is not an object", ctx);
    gemma4_text_config c;
    c.vocab_size = opt_int(j, "vocab_size", ctx, 262144, 1);
    c.hidden_size = req_int(j, "hidden_size", ctx);
    c.n_layer = req_int(j, "num_hidden_layers", ctx);
    c.n_head = req_int(j, "num_attention_heads", ctx);
    c.intermediate_size = req_int(j, "intermediate_size", ctx);
    int64_t n_kv = opt_int(j, "num_key_value_heads", ctx, c.n_head, 1);
    int64_t head_dim = opt_int(j, "head_dim", ctx, 256, 1);
    int64_t global_head_dim = opt_int(j, "global_head_dim", ctx, head_dim, 1);
    c.max_position_embeddings = opt_int(j, "max_position_embeddings", ctx, 131072, 1);
    c.sliding_window = opt_int(j, "sliding_window", ctx, 512, 1);
    c.n_kv_shared_layers = opt_int(j, "num_kv_shared_layers", ctx, 0, 0);
    c.ple_dim = opt_int(j, "hidden_size_per_layer_input", ctx, 0, 0);
    c.vocab_size_per_layer_input = opt_int(j, "vocab_size_per_layer_input", ctx, c.vocab_size, 0);
    c.double_wide_mlp = opt_bool(j, "use_double_wide_mlp", ctx, false);
    c.k_eq_v = opt_bool(j, "attention_k_eq_v", ctx, false);
    c.moe = opt_bool(j, "enable_moe_block", ctx, false);
    c.rms_norm_eps = opt_float(j, "rms_norm_eps", ctx, 1e-6);
    if (!(c.rms_norm_eps > 0)) fail("config: {}rms_norm_eps must be positive", ctx);
    if (field(j, "final_logit_softcapping")) {
        c.final_logit_softcapping = opt_float(j, "final_logit_softcapping", ctx, 0);
        // llama.cpp writes the key only for a truthy value; 0 means "no soft-cap" there too.
        if (*c.final_logit_softcapping == 0) c.final_logit_softcapping.reset();
    }
    c.partial_rotary_swa = opt_float(j, "partial_rotary_factor", ctx, 1.0);

    if (c.moe) {
        c.n_expert = req_int(j, "num_experts", ctx);
        c.n_expert_used = req_int(j, "top_k_experts", ctx);
        c.expert_ff = req_int(j, "moe_intermediate_size", ctx);
        if (c.n_expert_used > c.n_expert)
            fail("config: {}top_k_experts {} exceeds num_experts {}", ctx, c.n_expert_used, c.n_expert);
    }
    if (c.n_kv_shared_layers > c.n_layer)
        fail("config: {}num_kv_shared_layers {} exceeds num_hidden_layers {}", ctx, c.n_kv_shared_layers, c.n_layer);
    // transformers' assistant post-init: every drafter layer reads the target's KV.
    if (assistant) c.n_kv_shared_layers = c.n_layer;
    if (c.ple_dim > 0 && c.vocab_size_per_layer_input == 0)
        fail("config: {}vocab_size_per_layer_input is 0 with per-layer inputs enabled", ctx);

    // Rope: the full layers' dict holds the "proportional" partial rotation.
    if (const json* rp = field(j, "rope_parameters")) {
        if (!rp->is_object()) fail("config: {}rope_parameters must be an object", ctx);
        rope_params full = read_rope(*rp, "full_attention", ctx, 1e6, "proportional", 0.25);
        rope_params swa = read_rope(*rp, "sliding_attention", ctx, 1e4, "default", 1.0);
        if (full.type != "proportional" && full.type != "default")
            fail("config: {}rope_parameters.full_attention.rope_type '{}' is not supported", ctx, full.type);
        if (swa.type != "default")
            fail("config: {}rope_parameters.sliding_attention.rope_type '{}' is not supported", ctx, swa.type);
        c.rope_theta_full = full.theta;
        c.partial_rotary_full = full.partial;
        c.rope_theta_swa = swa.theta;
    } else {
        c.rope_theta_full = opt_float(j, "rope_theta", ctx, 1e6);
        c.rope_theta_swa = opt_float(j, "rope_local_base_freq", ctx, 1e4);
        c.partial_rotary_full = 0.25;
    }
    if (!(c.partial_rotary_swa > 0 && c.partial_rotary_swa <= 1))
        fail("config: {}partial_rotary_factor {} is outside (0, 1]", ctx, c.partial_rotary_swa);

    // Layer types.
    const size_t L = static_cast<size_t>(c.n_layer);
    c.is_swa.assign(L, true);
    if (const json* lt = field(j, "layer_types")) {
        if (!lt->is_array() || lt->size() != L)
            fail("config: {}layer_types must be an array of {} entries (num_hidden_layers)", ctx, L);
        for (size_t il = 0; il < L; ++il) {
            const json& t = (*lt)[il];
            if (!t.is_string()) fail("config: {}layer_types[{}] is not a string", ctx, il);
            std::string s = t.get<std::string>();
            if (s == "sliding_attention") c.is_swa[il] = true;
            else if (s == "full_attention") c.is_swa[il] = false;
            else fail("config: {}layer_types[{}] = '{}' (expected sliding_attention or full_attention)", ctx, il, s);
        }
    } else {
        for (size_t il = 0; il < L; ++il) c.is_swa[il] = (il + 1) % 6 != 0;
    }
    c.is_swa[L - 1] = false;

    // Per-layer head dims and KV-head counts. per_layer_config (transformers 5) states each
    // listed layer's values outright; otherwise full layers take global_head_dim, and
    // num_global_key_value_heads when attention_k_eq_v is on (transformers applies it only then).
    std::optional<int64_t> global_kv;
    if (field(j, "num_global_key_value_heads") && c.k_eq_v) global_kv = req_int(j, "num_global_key_value_heads", ctx);
    c.head_dim.assign(L, 0);
    c.n_head_kv.assign(L, 0);
    for (size_t il = 0; il < L; ++il) {
        c.head_dim[il] = c.is_swa[il] ? head_dim : global_head_dim;
        c.n_head_kv[il] = (!c.is_swa[il] && global_kv) ? *global_kv : n_kv;
        if (!c.is_swa[il] && global_kv) c.n_head_kv_per_layer = true;
    }
    if (const json* plc = field(j, "per_layer_config")) {
        if (!plc->is_object()) fail("config: {}per_layer_config must be an object", ctx);
        for (auto it = plc->begin(); it != plc->end(); ++it) {
            const std::string& key = it.key();
            size_t il = 0;
            bool ok = !key.empty() && key.size() < 10;
            for (char ch : key) ok = ok && ch >= '0' && ch <= '9';
            if (ok) il = std::stoul(key);
            if (!ok || il >= L) fail("config: {}per_layer_config key '{}' is not a layer index below {}", ctx, key, L);
            if (!it.value().is_object()) fail("config: {}per_layer_config.{} must be an object", ctx, key);
            std::string c2 = ctx + "per_layer_config." + key + ".";
            if (field(it.value(), "head_dim")) c.head_dim[il] = req_int(it.value(), "head_dim", c2);
            if (field(it.value(), "num_key_value_heads")) {
                c.n_head_kv[il] = req_int(it.value(), "num_key_value_heads", c2);
                c.n_head_kv_per_layer = true;
            }
        }
    }
    c.head_dim_swa = 0;
    c.head_dim_full = 0;
    for (size_t il = 0; il < L; ++il) {
        int64_t& d = c.is_swa[il] ? c.head_dim_swa : c.head_dim_full;
        if (d == 0) d = c.head_dim[il];
        else if (d != c.head_dim[il])
            fail("config: {}layer {} has head_dim {} but another {} layer has {}; GGUF holds one head dim per layer type",
                 ctx, il, c.head_dim[il], c.is_swa[il] ? "sliding" : "full", d);
        if (c.n_head % c.n_head_kv[il] != 0)
            fail("config: {}layer {}: {} query heads are not a multiple of {} KV heads", ctx, il, c.n_head, c.n_head_kv[il]);
    }
    if (c.head_dim_swa == 0) c.head_dim_swa = head_dim;  // no sliding layer at all

    c.n_ff.assign(L, c.intermediate_size);
    if (c.double_wide_mlp)
        for (size_t il = 0; il < L; ++il)
            if (!c.has_kv(static_cast<int64_t>(il))) c.n_ff[il] = 2 * c.intermediate_size;
    return c;
}

hf_model_config parse_hf_config(const json& j) {
    if (!j.is_object()) fail("config: config.json is not a JSON object");
    hf_model_config m;
    if (const json* a = field(j, "architectures")) {
        if (!a->is_array() || a->empty() || !(*a)[0].is_string())
            fail("config: architectures must be a non-empty array of strings");
        m.architecture = (*a)[0].get<std::string>();
    } else if (const json* mt = field(j, "model_type"); mt && mt->is_string()) {
        std::string t = mt->get<std::string>();
        if (t == "gemma4_text") m.architecture = "Gemma4ForCausalLM";
        else if (t == "gemma4") m.architecture = "Gemma4ForConditionalGeneration";
        else if (t == "gemma4_unified") m.architecture = "Gemma4UnifiedForConditionalGeneration";
        else if (t == "gemma4_assistant") m.architecture = "Gemma4AssistantForCausalLM";
        else if (t == "gemma4_unified_assistant") m.architecture = "Gemma4UnifiedAssistantForCausalLM";
        else fail("config: model_type '{}' is not a Gemma 4 model", t);
    } else {
        fail("config: neither architectures nor model_type is given");
    }

    static const char* const targets[] = {"Gemma4ForCausalLM", "Gemma4ForConditionalGeneration",
                                          "Gemma4UnifiedForConditionalGeneration"};
    static const char* const assistants[] = {"Gemma4AssistantForCausalLM", "Gemma4UnifiedAssistantForCausalLM"};
    bool known = false;
    for (const char* t : targets) known |= m.architecture == t;
    for (const char* t : assistants)
        if (m.architecture == t) known = m.is_assistant = true;
    if (!known) fail("config: architecture '{}' is not supported (expected a Gemma 4 target or assistant)", m.architecture);

    const json* tc = field(j, "text_config");
    if (m.is_assistant && !tc) fail("config: assistant config has no text_config");
    m.nested_text = tc != nullptr;
    m.text = parse_text_config(tc ? *tc : j, m.is_assistant);

    if (m.is_assistant) {
        gemma4_assistant_config a;
        a.backbone_hidden_size = req_int(j, "backbone_hidden_size", "");
        a.use_ordered_embeddings = opt_bool(j, "use_ordered_embeddings", "", false);
        a.num_centroids = opt_int(j, "num_centroids", "", 2048, 1);
        a.centroid_top_k = opt_int(j, "centroid_intermediate_top_k", "", 32, 1);
        if (a.use_ordered_embeddings && a.centroid_top_k > a.num_centroids)
            fail("config: centroid_intermediate_top_k {} exceeds num_centroids {}", a.centroid_top_k, a.num_centroids);
        if (m.text.ple_dim != 0) fail("config: assistant text_config must not use per-layer inputs");
        if (m.text.moe) fail("config: assistant text_config must not use a mixture of experts");
        m.assistant = a;
    }
    return m;
}

hf_model_config read_hf_config(const std::string& path) {
    std::string file = path;
    if (file.size() < 5 || file.compare(file.size() - 5, 5, ".json") != 0) file += "/config.json";
    std::ifstream in(file);
    if (!in) fail("cannot open '{}'", file);
    std::stringstream ss;
    ss << in.rdbuf();
    json j;
    try {
        j = json::parse(ss.str());
    } catch (const json::exception& e) {
        fail("{}: not valid JSON: {}", file, e.what());
    }
    try {
        return parse_hf_config(j);
    } catch (const lf::error& e) {
        fail("{}: {}", file, e.what());
    }
}

}  // namespace lf
