// Hugging Face tokenizer directory → vocab; see vocab-hf.h for the rules.
#include "tokenizer/vocab-hf.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace lf {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::optional<std::string> read_text(const fs::path& p) {
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) return std::nullopt;
    std::ifstream in(p, std::ios::binary);
    if (!in) fail("{}: cannot open", p.string());
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) fail("{}: read error", p.string());
    return ss.str();
}

json parse_json_file(const fs::path& p, bool required) {
    auto text = read_text(p);
    if (!text) {
        if (required) fail("{}: not found", p.string());
        return nullptr;
    }
    try {
        return json::parse(*text);
    } catch (const json::exception& e) {
        fail("{}: not valid JSON: {}", p.string(), e.what());
    }
}

bool is_byte_token(const std::string& t) {
    auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); };
    return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && hex(t[3]) && hex(t[4]) && t[5] == '>';
}

// A special-token entry of tokenizer_config.json: "<bos>" or {"content": "<bos>", ...}.
std::optional<std::string> token_content(const json& cfg, const std::string& key) {
    if (!cfg.is_object() || !cfg.contains(key)) return std::nullopt;
    const json& e = cfg[key];
    if (e.is_string()) return e.get<std::string>();
    if (e.is_object() && e.contains("content") && e["content"].is_string()) return e["content"].get<std::string>();
    return std::nullopt;
}

// The "id" of a TemplateProcessing piece of the given kind ("SpecialToken" or "Sequence").
std::optional<std::string> piece_id(const json& piece, const char* kind) {
    if (!piece.is_object() || !piece.contains(kind) || !piece[kind].is_object()) return std::nullopt;
    const json& p = piece[kind];
    if (!p.contains("id") || !p["id"].is_string()) return std::nullopt;
    return p["id"].get<std::string>();
}

// gguf-py keeps only ASCII letters and digits of a template name.
std::string template_name(const std::string& name) {
    std::string out = name;
    for (char& c : out)
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))) c = '_';
    return out;
}

void set_chat_templates(vocab& v, const json& value, const char* where) {
    if (value.is_string()) {
        v.chat_template = value.get<std::string>();
        return;
    }
    if (!value.is_array()) fail("{}: chat_template must be a string or a list of {{name, template}}", where);
    for (const json& choice : value) {
        if (!choice.is_object()) fail("{}: chat_template list entries must be objects", where);
        std::string name = choice.contains("name") && choice["name"].is_string() ? choice["name"].get<std::string>() : "";
        if (!choice.contains("template") || !choice["template"].is_string() || name.empty()) continue;
        name = template_name(name);
        if (name == "default")
            v.chat_template = choice["template"].get<std::string>();
        else
            v.named_chat_templates.emplace_back(name, choice["template"].get<std::string>());
    }
}

}  // namespace

hf_tokenizer_files read_hf_tokenizer_files(const std::string& dir) {
    fs::path d(dir);
    std::error_code ec;
    if (!fs::is_directory(d, ec)) fail("{}: not a directory", dir);
    hf_tokenizer_files f;
    f.tokenizer = parse_json_file(d / "tokenizer.json", true);
    f.tokenizer_config = parse_json_file(d / "tokenizer_config.json", false);
    f.config = parse_json_file(d / "config.json", false);
    f.chat_template_jinja = read_text(d / "chat_template.jinja");
    if (f.chat_template_jinja && fs::is_directory(d / "additional_chat_templates", ec)) {
        std::vector<fs::path> extra;
        for (const auto& e : fs::directory_iterator(d / "additional_chat_templates"))
            if (e.path().extension() == ".jinja") extra.push_back(e.path());
        std::sort(extra.begin(), extra.end());
        for (const auto& p : extra) f.additional_templates.emplace_back(p.stem().string(), *read_text(p));
    }
    f.chat_template_json = parse_json_file(d / "chat_template.json", false);
    return f;
}

vocab vocab_from_hf(const hf_tokenizer_files& files) {
    const json& tok = files.tokenizer;
    if (!tok.is_object() || !tok.contains("model") || !tok["model"].is_object())
        fail("tokenizer.json: missing the 'model' object");
    const json& model = tok["model"];
    std::string type = model.contains("type") && model["type"].is_string() ? model["type"].get<std::string>() : "";
    if (type != "BPE") fail("tokenizer.json: model.type is '{}', expected 'BPE' (the Gemma tokenizer)", type);
    if (!model.contains("vocab") || !model["vocab"].is_object()) fail("tokenizer.json: model.vocab must be an object");

    vocab v;
    v.model = "gemma4";

    // Model vocabulary: text → id, ids dense in [0, n_base).
    const json& mv = model["vocab"];
    const size_t n_base = mv.size();
    if (n_base == 0) fail("tokenizer.json: model.vocab is empty");
    std::vector<std::string> tokens(n_base);
    std::vector<bool> seen(n_base, false);
    for (auto it = mv.begin(); it != mv.end(); ++it) {
        if (!it.value().is_number_integer()) fail("tokenizer.json: model.vocab['{}'] is not an integer id", it.key());
        int64_t id = it.value().get<int64_t>();
        if (id < 0 || id >= static_cast<int64_t>(n_base))
            fail("tokenizer.json: model.vocab['{}'] = {} is outside [0, {})", it.key(), id, n_base);
        if (seen[id]) fail("tokenizer.json: model.vocab gives id {} to two tokens", id);
        seen[id] = true;
        tokens[id] = it.key();
    }

    // Added tokens: those inside the model vocab re-label an existing id; those beyond it must
    // continue the id range without gaps (LlamaHfVocab appends them in id order).
    struct added {
        int64_t id;
        std::string content;
        bool special;
    };
    std::vector<added> added_tokens;
    if (tok.contains("added_tokens") && !tok["added_tokens"].is_null()) {
        if (!tok["added_tokens"].is_array()) fail("tokenizer.json: added_tokens must be a list");
        for (size_t i = 0; i < tok["added_tokens"].size(); ++i) {
            const json& a = tok["added_tokens"][i];
            if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
                !a["content"].is_string())
                fail("tokenizer.json: added_tokens[{}] needs an integer 'id' and a string 'content'", i);
            bool special = a.contains("special") && a["special"].is_boolean() && a["special"].get<bool>();
            added_tokens.push_back({a["id"].get<int64_t>(), a["content"].get<std::string>(), special});
        }
    }
    std::sort(added_tokens.begin(), added_tokens.end(), [](const added& a, const added& b) { return a.id < b.id; });
    std::vector<int8_t> added_kind(n_base, 0);  // 0 = not added, 1 = added, 2 = added special
    for (const added& a : added_tokens) {
        if (a.id < 0) fail("tokenizer.json: added token '{}' has negative id {}", a.content, a.id);
        if (a.id < static_cast<int64_t>(n_base)) {
            tokens[a.id] = a.content;
            added_kind[a.id] = a.special ? 2 : 1;
            continue;
        }
        if (a.id != static_cast<int64_t>(tokens.size()))
            fail("tokenizer.json: added token '{}' has id {}, expected {} (ids must be contiguous)", a.content, a.id,
                 tokens.size());
        tokens.push_back(a.content);
        added_kind.push_back(a.special ? 2 : 1);
    }

    const size_t n = tokens.size();
    v.types.resize(n);
    for (size_t i = 0; i < n; ++i) {
        bool beyond = i >= n_base;
        if (!beyond && is_byte_token(tokens[i]))
            v.types[i] = token_type::byte;
        else if (added_kind[i] == 2)
            v.types[i] = token_type::control;
        else if (added_kind[i] == 1)
            v.types[i] = token_type::user_defined;
        else
            v.types[i] = token_type::normal;
        for (const char* m : k_gemma4_visible_markers)
            if (tokens[i] == m) v.types[i] = token_type::user_defined;
    }
    v.tokens = std::move(tokens);
    v.scores.assign(n, -1000.0f);

    // Merges: old format "a b", new format ["a", "b"].
    if (!model.contains("merges") || !model["merges"].is_array() || model["merges"].empty())
        fail("tokenizer.json: model.merges is missing or empty (a gemma4 vocabulary needs merges)");
    const json& merges = model["merges"];
    v.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        const json& m = merges[i];
        if (m.is_string()) {
            v.merges.push_back(m.get<std::string>());
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            std::string s;
            for (int part = 0; part < 2; ++part) {
                if (part) s += ' ';
                for (char c : m[part].get_ref<const std::string&>()) {
                    if (c == ' ')
                        s += "\xC4\xA0";  // U+0120, gguf-py's spelling of a space inside a merge part
                    else
                        s += c;
                }
            }
            v.merges.push_back(std::move(s));
        } else {
            fail("tokenizer.json: model.merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", i);
        }
    }

    // Special ids: tokenizer_config.json's *_token text looked up among the added tokens.
    const json& cfg = files.tokenizer_config;
    auto find_added = [&](const std::string& content) -> int32_t {
        for (const added& a : added_tokens)
            if (a.content == content) return static_cast<int32_t>(a.id);
        return -1;
    };
    const std::pair<const char*, int32_t*> special_ids[] = {
        {"bos", &v.bos_id}, {"eos", &v.eos_id}, {"unk", &v.unk_id}, {"sep", &v.sep_id},
        {"pad", &v.pad_id}, {"cls", &v.cls_id}, {"mask", &v.mask_id},
    };
    for (const auto& [typ, dst] : special_ids) {
        if (auto content = token_content(cfg, std::string(typ) + "_token")) *dst = find_added(*content);
    }
    // config.json fills what is still missing (scalar ids only, like gguf-py).
    for (const auto& [typ, dst] : special_ids) {
        if (*dst >= 0) continue;
        const json& c = files.config;
        std::string key = std::string(typ) + "_token_id";
        const json* val = nullptr;
        if (c.is_object() && c.contains(key)) val = &c[key];
        else if (c.is_object() && c.contains("text_config") && c["text_config"].is_object() && c["text_config"].contains(key))
            val = &c["text_config"][key];
        if (val && val->is_number_integer()) {
            int64_t id = val->get<int64_t>();
            if (id >= 0 && id < static_cast<int64_t>(n)) *dst = static_cast<int32_t>(id);
        }
    }

    // add_bos / add_eos / add_sep from the post-processor (gguf-py's reading of TemplateProcessing),
    // then tokenizer_config.json's explicit flags.
    std::optional<bool> add_bos, add_eos;
    const std::string bos_text = token_content(cfg, "bos_token").value_or("");
    const std::string eos_text = token_content(cfg, "eos_token").value_or("");
    const std::string sep_text = token_content(cfg, "sep_token").value_or("");
    const std::string cls_text = token_content(cfg, "cls_token").value_or("");
    if (tok.contains("post_processor") && tok["post_processor"].is_object()) {
        const json& pp = tok["post_processor"];
        std::vector<const json*> procs;
        if (pp.contains("processors") && pp["processors"].is_array())
            for (const json& p : pp["processors"]) procs.push_back(&p);
        else
            procs.push_back(&pp);
        for (const json* pr : procs) {
            if (!pr->is_object() || !pr->contains("type") || !(*pr)["type"].is_string()) continue;
            std::string ptype = (*pr)["type"].get<std::string>();
            if (ptype == "RobertaProcessing") {
                add_bos = add_eos = true;
                v.add_sep = true;
                continue;
            }
            if (ptype != "TemplateProcessing") continue;
            const json single = pr->value("single", json::array());
            json pair = pr->value("pair", json::array());
            std::optional<std::string> first, last;
            if (single.is_array() && single.size() > 1) {
                first = piece_id(single.front(), "SpecialToken");
                if (first) add_bos = *first == bos_text || *first == cls_text;
                last = piece_id(single.back(), "SpecialToken");
                if (last) add_eos = *last == eos_text;
            }
            if (pair.is_array() && !pair.empty()) {
                size_t start = first && piece_id(pair.front(), "SpecialToken") == first ? 1 : 0;
                size_t stop = last && piece_id(pair.back(), "SpecialToken") == last ? pair.size() - 1 : pair.size();
                if (start < stop) {
                    json sub(json::array());
                    for (size_t k = start; k < stop; ++k) sub.push_back(pair[k]);
                    if (piece_id(sub.front(), "Sequence") == "A" && piece_id(sub.back(), "Sequence") == "B" &&
                        sub.size() > 2) {
                        bool add_sep = false;
                        auto e0 = piece_id(sub[1], "SpecialToken");
                        if (e0 && (*e0 == sep_text || *e0 == eos_text) && !last) add_sep = true;
                        if (sub.size() == 4) {
                            auto e1 = piece_id(sub[2], "SpecialToken");
                            if (e1 && (*e1 == sep_text || *e1 == eos_text)) add_sep = true;
                        }
                        v.add_sep = add_sep;
                    }
                }
            }
        }
    }
    if (cfg.is_object()) {
        if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) add_bos = cfg["add_bos_token"].get<bool>();
        if (cfg.contains("add_eos_token") && cfg["add_eos_token"].is_boolean()) add_eos = cfg["add_eos_token"].get<bool>();
        if (cfg.contains("add_sep_token") && cfg["add_sep_token"].is_boolean()) v.add_sep = cfg["add_sep_token"].get<bool>();
    }
    (void)add_bos;  // Gemma 4 always starts with <bos>: upstream writes add_bos_token = true regardless
    v.add_bos = true;
    v.add_eos = add_eos.value_or(false);
    v.add_space_prefix = false;

    if (cfg.is_object() && cfg.contains("chat_template") && !cfg["chat_template"].is_null()) {
        set_chat_templates(v, cfg["chat_template"], "tokenizer_config.json");
    } else if (files.chat_template_jinja) {
        v.chat_template = *files.chat_template_jinja;
        for (const auto& [name, text] : files.additional_templates)
            v.named_chat_templates.emplace_back(template_name(name), text);
    } else if (files.chat_template_json.is_object() && files.chat_template_json.contains("chat_template")) {
        set_chat_templates(v, files.chat_template_json["chat_template"], "chat_template.json");
    }

    if (v.bos_id < 0) fail("tokenizer_config.json: no bos_token found among the added tokens (gemma4 needs one)");
    v.validate();
    return v;
}

}  // namespace lf
