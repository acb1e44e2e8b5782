// Reading and writing the tokenizer keys of a GGUF file. Kept apart from the tokenizer proper so
// that code which builds a vocab from vectors needs no GGUF reader.
#include "core/error.h"
#include "gguf/gguf-writer.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab.h"

namespace lf {

namespace {

int32_t read_id(const gguf_file& f, const std::string& key, size_t n_tokens) {
    auto v = f.opt_int(key);
    if (!v) return -1;
    // Some writers store "none" as -1 or as its u32 bit pattern.
    if (*v < 0 || *v == 0xFFFFFFFFll) return -1;
    if (*v >= static_cast<int64_t>(n_tokens)) fail("{} = {} is outside the vocabulary (size {})", key, *v, n_tokens);
    return static_cast<int32_t>(*v);
}

}  // namespace

vocab vocab_from_gguf(const gguf_file& f) {
    vocab v;
    v.model = f.get_str("tokenizer.ggml.model");
    if (v.model != "gemma4")
        fail("tokenizer.ggml.model is '{}'; only the Gemma 4 BPE tokenizer ('gemma4') is supported", v.model);

    v.tokens = f.get_str_array("tokenizer.ggml.tokens");
    const size_t n = v.tokens.size();
    if (n == 0) fail("tokenizer.ggml.tokens is empty");

    if (f.find("tokenizer.ggml.scores")) {
        std::vector<double> s = f.get_float_array("tokenizer.ggml.scores");
        if (s.size() != n) fail("tokenizer.ggml.scores has {} entries, expected {} (one per token)", s.size(), n);
        v.scores.assign(s.begin(), s.end());
    } else {
        v.scores.assign(n, 0.0f);
    }
    if (f.find("tokenizer.ggml.token_type")) {
        std::vector<int64_t> t = f.get_int_array("tokenizer.ggml.token_type");
        if (t.size() != n) fail("tokenizer.ggml.token_type has {} entries, expected {} (one per token)", t.size(), n);
        v.types.resize(n);
        for (size_t i = 0; i < n; ++i) {
            if (t[i] < 0 || t[i] > 6) fail("tokenizer.ggml.token_type[{}] = {} is not a token type (0..6)", i, t[i]);
            v.types[i] = static_cast<token_type>(t[i]);
        }
    } else {
        v.types.assign(n, token_type::normal);
    }
    // llama.cpp refuses a gemma4 vocabulary without merges; so do we.
    v.merges = f.get_str_array("tokenizer.ggml.merges");

    v.bos_id = read_id(f, "tokenizer.ggml.bos_token_id", n);
    v.eos_id = read_id(f, "tokenizer.ggml.eos_token_id", n);
    v.unk_id = read_id(f, "tokenizer.ggml.unknown_token_id", n);
    v.pad_id = read_id(f, "tokenizer.ggml.padding_token_id", n);
    v.sep_id = read_id(f, "tokenizer.ggml.seperator_token_id", n);
    v.cls_id = read_id(f, "tokenizer.ggml.cls_token_id", n);
    v.mask_id = read_id(f, "tokenizer.ggml.mask_token_id", n);
    if (v.bos_id < 0) fail("missing metadata key 'tokenizer.ggml.bos_token_id' (required for gemma4)");

    // llama.cpp forces add_bos for gemma4 whatever the file says; Gemma degrades badly without it.
    v.add_bos = true;
    v.add_eos = f.opt_bool("tokenizer.ggml.add_eos_token").value_or(false);
    v.add_sep = f.opt_bool("tokenizer.ggml.add_sep_token");
    v.add_space_prefix = f.opt_bool("tokenizer.ggml.add_space_prefix").value_or(false);
    v.chat_template = f.opt_str("tokenizer.chat_template").value_or("");
    v.validate();
    return v;
}

tokenizer tokenizer::from_gguf(const gguf_file& f) { return tokenizer(vocab_from_gguf(f)); }

void write_vocab_gguf(const vocab& v, gguf_writer& w) {
    v.validate();
    w.set_str("tokenizer.ggml.model", v.model);
    w.set("tokenizer.ggml.tokens", gguf_value::make_arr_str(v.tokens));
    w.set("tokenizer.ggml.scores", gguf_value::make_arr_f32(v.scores));
    std::vector<int32_t> types(v.types.size());
    for (size_t i = 0; i < types.size(); ++i) types[i] = static_cast<int32_t>(v.types[i]);
    w.set("tokenizer.ggml.token_type", gguf_value::make_arr_i32(types));
    w.set("tokenizer.ggml.merges", gguf_value::make_arr_str(v.merges));
    // Same order as gguf-py's SpecialVocab: bos, eos, unk, sep, pad, cls, mask.
    const std::pair<const char*, int32_t> ids[] = {
        {"tokenizer.ggml.bos_token_id", v.bos_id},       {"tokenizer.ggml.eos_token_id", v.eos_id},
        {"tokenizer.ggml.unknown_token_id", v.unk_id},   {"tokenizer.ggml.seperator_token_id", v.sep_id},
        {"tokenizer.ggml.padding_token_id", v.pad_id},   {"tokenizer.ggml.cls_token_id", v.cls_id},
        {"tokenizer.ggml.mask_token_id", v.mask_id},
    };
    for (const auto& [key, id] : ids)
        if (id >= 0) w.set_u32(key, static_cast<uint32_t>(id));
    w.set_bool("tokenizer.ggml.add_bos_token", v.add_bos);
    if (v.add_sep) w.set_bool("tokenizer.ggml.add_sep_token", *v.add_sep);
    w.set_bool("tokenizer.ggml.add_eos_token", v.add_eos);
    if (!v.named_chat_templates.empty()) {
        std::vector<std::string> names;
        for (const auto& [name, text] : v.named_chat_templates) {
            w.set_str("tokenizer.chat_template." + name, text);
            names.push_back(name);
        }
        w.set("tokenizer.chat_templates", gguf_value::make_arr_str(names));
    }
    if (!v.chat_template.empty()) w.set_str("tokenizer.chat_template", v.chat_template);
    w.set_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
}

}  // namespace lf
