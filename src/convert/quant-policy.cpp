// Type policy shared by `convert` and `quantize`; see quant-policy.h for the rules.
#include "convert/quant-policy.h"

#include "core/error.h"

namespace lf {

namespace {

bool ends_with(const std::string& s, std::string_view suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_float(dtype t) { return t == dtype::f32 || t == dtype::f16 || t == dtype::bf16; }

}  // namespace

uint32_t file_type_of(dtype t) {
    switch (t) {
        case dtype::f32: return 0;
        case dtype::f16: return 1;
        case dtype::q4_0: return 2;
        case dtype::q8_0: return 7;
        case dtype::bf16: return 32;
    }
    abort_at(__FILE__, __LINE__, "unknown dtype");
}

bool is_quantizable(const std::string& name, size_t n_dims) {
    if (n_dims < 2 || !ends_with(name, "weight")) return false;
    if (ends_with(name, "_norm.weight")) return false;
    // The router stays F32 (its logits pick experts) and the per-layer-input projection is
    // excluded by llama-quantize for Gemma 3n / Gemma 4.
    if (name.find("ffn_gate_inp.weight") != std::string::npos) return false;
    if (name.find("per_layer_model_proj") != std::string::npos) return false;
    return true;
}

dtype quantized_type(const std::string& name, int64_t ne0, dtype target) {
    dtype t = target;
    if (target == dtype::q4_0 && name == "token_embd.weight") t = dtype::q8_0;
    if (ne0 % traits(t).block_elems != 0) t = dtype::f16;
    return t;
}

dtype convert_type(const std::string& name, const std::vector<int64_t>& ne, dtype outtype) {
    if (ne.size() <= 1 || ends_with(name, "_norm.weight") || !ends_with(name, ".weight") ||
        name.find("ffn_gate_inp.weight") != std::string::npos)
        return dtype::f32;
    if (is_float(outtype)) return outtype;
    if (!is_quantizable(name, ne.size())) return dtype::f16;
    return quantized_type(name, ne[0], outtype);
}

}  // namespace lf
