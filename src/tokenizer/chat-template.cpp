// Gemma 4 chat format; see chat-template.h. The functions below mirror the template's macros
// (format_parameters, format_function_declaration, format_argument, strip_thinking,
// format_tool_response_block) and its main loop, in the same order, so that a change upstream can
// be followed line by line.
#include "tokenizer/chat-template.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace lf {

using nlohmann::json;

namespace {

const std::string k_quote = "<|\"|>";

// ---- Jinja/Python value semantics ---------------------------------------------------------

// value['key'] in Jinja: the member of a mapping, or undefined (nullptr) for anything else.
const json* jget(const json* v, const char* key) {
    if (!v || !v->is_object()) return nullptr;
    auto it = v->find(key);
    return it == v->end() ? nullptr : &*it;
}

// Python truthiness; undefined is false.
bool truthy(const json* v) {
    if (!v) return false;
    switch (v->type()) {
        case json::value_t::null: return false;
        case json::value_t::boolean: return v->get<bool>();
        case json::value_t::number_integer: return v->get<int64_t>() != 0;
        case json::value_t::number_unsigned: return v->get<uint64_t>() != 0;
        case json::value_t::number_float: return v->get<double>() != 0.0;
        case json::value_t::string: return !v->get_ref<const std::string&>().empty();
        case json::value_t::array:
        case json::value_t::object: return !v->empty();
        default: return false;
    }
}

std::string py_repr(const json& v);

std::string py_str_repr(const std::string& s) {
    bool has_single = s.find('\'') != std::string::npos, has_double = s.find('"') != std::string::npos;
    char q = has_single && !has_double ? '"' : '\'';
    std::string out(1, q);
    for (unsigned char c : s) {
        if (c == '\\') out += "\\\\";
        else if (c == static_cast<unsigned char>(q)) { out += '\\'; out += static_cast<char>(c); }
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20 || c == 0x7F) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else out += static_cast<char>(c);
    }
    out += q;
    return out;
}

// Python str(): how Jinja prints a value with {{ }}.
std::string py_str(const json& v) {
    switch (v.type()) {
        case json::value_t::null: return "None";
        case json::value_t::boolean: return v.get<bool>() ? "True" : "False";
        case json::value_t::number_integer: return std::to_string(v.get<int64_t>());
        case json::value_t::number_unsigned: return std::to_string(v.get<uint64_t>());
        case json::value_t::number_float: return py_float_repr(v.get<double>());
        case json::value_t::string: return v.get<std::string>();
        case json::value_t::array: {
            std::string out = "[";
            for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + py_repr(v[i]);
            return out + "]";
        }
        case json::value_t::object: {
            std::string out = "{";
            bool first = true;
            for (auto it = v.begin(); it != v.end(); ++it) {
                out += (first ? "" : ", ") + py_str_repr(it.key()) + ": " + py_repr(it.value());
                first = false;
            }
            return out + "}";
        }
        default: return "";
    }
}

std::string py_repr(const json& v) { return v.is_string() ? py_str_repr(v.get<std::string>()) : py_str(v); }

// {{ value }} where value may be undefined.
std::string jstr(const json* v) { return v ? py_str(*v) : std::string(); }

// The `upper` filter (ASCII letters only; Python would also upper-case other scripts, which no
// JSON-schema type name uses).
std::string jupper(const json* v) {
    std::string s = jstr(v);
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

// Python's str.lower() on ASCII, for dictsort's case-insensitive order.
std::string ascii_lower(const std::string& s) {
    std::string out = s;
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// `mapping | dictsort`: items ordered by lower-cased key, ties in mapping order.
std::vector<std::pair<std::string, const json*>> dictsort(const json& obj) {
    std::vector<std::pair<std::string, const json*>> items;
    for (auto it = obj.begin(); it != obj.end(); ++it) items.emplace_back(it.key(), &it.value());
    std::stable_sort(items.begin(), items.end(),
                     [](const auto& a, const auto& b) { return ascii_lower(a.first) < ascii_lower(b.first); });
    return items;
}

// `for x in value`: list elements, mapping keys, or the characters of a string.
std::vector<json> jiter(const json* v) {
    std::vector<json> out;
    if (!v) return out;
    if (v->is_array()) {
        for (const json& e : *v) out.push_back(e);
    } else if (v->is_object()) {
        for (auto it = v->begin(); it != v->end(); ++it) out.emplace_back(it.key());
    } else if (v->is_string()) {
        const std::string& s = v->get_ref<const std::string&>();
        for (size_t i = 0; i < s.size();) {
            size_t n = utf8_seq_len(s, i);
            if (n == 0) n = 1;
            out.emplace_back(s.substr(i, n));
            i += n;
        }
    }
    return out;
}

std::string trim(std::string_view s) { return std::string(py_strip(s)); }

// ---- the template's macros -----------------------------------------------------------------

std::string format_argument(const json* arg, bool escape_keys) {
    if (!arg) return "";
    if (arg->is_string()) return k_quote + arg->get<std::string>() + k_quote;
    if (arg->is_boolean()) return arg->get<bool>() ? "true" : "false";
    if (arg->is_object()) {
        std::string out = "{";
        bool first = true;
        for (const auto& [key, value] : dictsort(*arg)) {
            if (!first) out += ',';
            first = false;
            out += escape_keys ? k_quote + key + k_quote : key;
            out += ':' + format_argument(value, escape_keys);
        }
        return out + "}";
    }
    if (arg->is_array()) {
        std::string out = "[";
        for (size_t i = 0; i < arg->size(); ++i) {
            if (i) out += ',';
            out += format_argument(&(*arg)[i], escape_keys);
        }
        return out + "]";
    }
    return py_str(*arg);
}

std::string quoted_list(const json* items) {
    std::string out;
    std::vector<json> v = jiter(items);
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) out += ',';
        out += k_quote + py_str(v[i]) + k_quote;
    }
    return out;
}

std::string format_parameters(const json& properties) {
    static const char* const standard_keys[] = {"description", "type", "properties", "required", "nullable"};
    if (!properties.is_object()) return "";
    std::string out;
    bool found_first = false;
    for (const auto& [key, value] : dictsort(properties)) {
        if (std::find_if(std::begin(standard_keys), std::end(standard_keys),
                         [&](const char* k) { return key == k; }) != std::end(standard_keys))
            continue;
        bool add_comma = false;
        auto comma = [&] {
            if (add_comma) out += ',';
            else add_comma = true;
        };
        if (found_first) out += ',';
        found_first = true;
        out += key + ":{";
        if (truthy(jget(value, "description"))) {
            out += "description:" + k_quote + jstr(jget(value, "description")) + k_quote;
            add_comma = true;
        }
        const std::string type = jupper(jget(value, "type"));
        if (type == "STRING") {
            if (truthy(jget(value, "enum"))) {
                comma();
                out += "enum:" + format_argument(jget(value, "enum"), true);
            }
        } else if (type == "ARRAY") {
            const json* items = jget(value, "items");
            if (items && items->is_object() && truthy(items)) {
                comma();
                out += "items:{";
                bool items_first = false;
                for (const auto& [item_key, item_value] : dictsort(*items)) {
                    if (item_value->is_null()) continue;
                    if (items_first) out += ',';
                    items_first = true;
                    if (item_key == "properties") {
                        out += "properties:{" + (item_value->is_object() ? format_parameters(*item_value) : "") + "}";
                    } else if (item_key == "required") {
                        out += "required:[" + quoted_list(item_value) + "]";
                    } else if (item_key == "type") {
                        if (item_value->is_string()) {
                            json up = jupper(item_value);
                            out += "type:" + format_argument(&up, true);
                        } else {
                            json ups = json::array();
                            for (const json& t : jiter(item_value)) ups.push_back(jupper(&t));
                            out += "type:" + format_argument(&ups, true);
                        }
                    } else {
                        out += item_key + ":" + format_argument(item_value, true);
                    }
                }
                out += "}";
            }
        }
        if (truthy(jget(value, "nullable"))) {
            comma();
            out += "nullable:true";
        }
        if (type == "OBJECT") {
            const json* props = jget(value, "properties");
            if (props && props->is_object()) {
                comma();
                out += "properties:{" + format_parameters(*props) + "}";
            } else if (value->is_object()) {
                comma();
                out += "properties:{" + format_parameters(*value) + "}";
            }
            if (truthy(jget(value, "required"))) {
                comma();
                out += "required:[" + quoted_list(jget(value, "required")) + "]";
            }
        }
        comma();
        out += "type:" + k_quote + type + k_quote + "}";
    }
    return out;
}

std::string format_function_declaration(const json& tool, size_t index) {
    const json* fn = jget(&tool, "function");
    if (!fn || !fn->is_object()) fail("tools[{}]: missing the 'function' object", index);
    if (!jget(fn, "name")) fail("tools[{}]: function has no 'name'", index);
    std::string out = "declaration:" + jstr(jget(fn, "name")) + "{description:" + k_quote +
                      jstr(jget(fn, "description")) + k_quote;
    const json* params = jget(fn, "parameters");
    if (truthy(params)) {
        out += ",parameters:{";
        if (truthy(jget(params, "properties"))) out += "properties:{" + format_parameters(*jget(params, "properties")) + "},";
        if (truthy(jget(params, "required"))) out += "required:[" + quoted_list(jget(params, "required")) + "],";
        // The template closes the parameters brace only here: without a type it stays open.
        if (truthy(jget(params, "type"))) out += "type:" + k_quote + jupper(jget(params, "type")) + k_quote + "}";
    }
    if (fn->contains("response")) {
        const json* resp = jget(fn, "response");
        out += ",response:{";
        if (truthy(jget(resp, "description"))) out += "description:" + k_quote + jstr(jget(resp, "description")) + k_quote + ",";
        if (jupper(jget(resp, "type")) == "OBJECT") out += "type:" + k_quote + jupper(jget(resp, "type")) + k_quote + "}";
    }
    out += "}";
    return out;
}

std::string strip_thinking(const std::string& text) {
    static const std::string open = "<|channel>", close = "<channel|>";
    std::string result;
    size_t start = 0;
    while (true) {
        size_t end = text.find(close, start);
        std::string_view part(text.data() + start, (end == std::string::npos ? text.size() : end) - start);
        size_t o = part.find(open);
        result += part.substr(0, o == std::string_view::npos ? part.size() : o);
        if (end == std::string::npos) break;
        start = end + close.size();
    }
    return trim(result);
}

std::string format_tool_response_block(const std::string& tool_name, const json* response) {
    std::string out = "<|tool_response>";
    if (response && response->is_object()) {
        out += "response:" + tool_name + "{";
        auto items = dictsort(*response);
        for (size_t i = 0; i < items.size(); ++i) {
            out += items[i].first + ":" + format_argument(items[i].second, false);
            if (i + 1 < items.size()) out += ',';
        }
        out += "}";
    } else {
        out += "response:" + tool_name + "{value:" + format_argument(response, false) + "}";
    }
    return out + "<tool_response|>";
}

// Python's `a == b` for two values that may be absent (dict.get gives None for both).
bool py_equal(const json* a, const json* b) {
    bool a_none = !a || a->is_null(), b_none = !b || b->is_null();
    if (a_none || b_none) return a_none && b_none;
    return *a == *b;
}

// Text of the parts of type "text" (the template's handling of a list-valued tool result).
std::string text_parts(const json& parts) {
    std::string s;
    for (const json& part : parts) {
        if (!part.is_object()) continue;
        const json* type = jget(&part, "type");
        if (type && type->is_string() && type->get<std::string>() == "text") {
            const json* text = jget(&part, "text");
            if (text && !text->is_null()) s += py_str(*text);
        }
    }
    return s;
}

enum class msg_type { none, think, tool, tool_call, tool_response, image, audio, video };

}  // namespace

std::string py_float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
    if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
    // Shortest round-trip digits, then Python's 'r' layout: scientific when the exponent is
    // below -4 or at least 16, positional otherwise; always a ".0" on integral positional values.
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, res.ptr);  // e.g. "-1.2345e+03"
    bool neg = sci[0] == '-';
    size_t e_pos = sci.find('e');
    std::string mant = sci.substr(neg ? 1 : 0, e_pos - (neg ? 1 : 0));
    int exp10 = std::stoi(sci.substr(e_pos + 1));
    std::string digits;
    for (char c : mant)
        if (c != '.') digits += c;
    std::string out = neg ? "-" : "";
    if (exp10 < -4 || exp10 >= 16) {
        out += digits.substr(0, 1);
        if (digits.size() > 1) out += "." + digits.substr(1);
        char eb[16];
        std::snprintf(eb, sizeof eb, "e%c%02d", exp10 < 0 ? '-' : '+', std::abs(exp10));
        return out + eb;
    }
    if (exp10 < 0) return out + "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
    size_t int_len = static_cast<size_t>(exp10) + 1;
    if (digits.size() <= int_len) return out + digits + std::string(int_len - digits.size(), '0') + ".0";
    return out + digits.substr(0, int_len) + "." + digits.substr(int_len);
}

std::string render_gemma4_chat(const json& messages, const json& tools, const chat_template_options& opt) {
    if (!messages.is_array()) fail("messages must be a list");
    for (size_t i = 0; i < messages.size(); ++i) {
        const json& m = messages[i];
        if (!m.is_object()) fail("messages[{}] must be an object", i);
        if (!m.contains("role") || !m["role"].is_string()) fail("messages[{}] needs a string 'role'", i);
    }
    if (!tools.is_null() && !tools.is_array()) fail("tools must be a list");
    auto role_of = [&](size_t i) -> const std::string& { return messages[i]["role"].get_ref<const std::string&>(); };

    const bool thinking = opt.enable_thinking;
    std::string out = opt.bos_token;
    msg_type prev = msg_type::none;
    size_t first = 0;

    const bool first_is_system = !messages.empty() && (role_of(0) == "system" || role_of(0) == "developer");
    if (thinking || truthy(&tools) || first_is_system) {
        out += "<|turn>system\n";
        if (thinking) {
            out += "<|think|>\n";
            prev = msg_type::think;
        }
        if (first_is_system) {
            const json* content = jget(&messages[0], "content");
            if (content && content->is_array())
                out += trim(text_parts(*content));
            else
                out += trim(jstr(content));
            first = 1;
        }
        if (truthy(&tools)) {
            for (size_t t = 0; t < tools.size(); ++t)
                out += "<|tool>" + trim(format_function_declaration(tools[t], t)) + "<tool|>";
            prev = msg_type::tool;
        }
        out += "<turn|>\n";
    }

    // Indices below are into messages[first..], as the template's loop_messages.
    const size_t n = messages.size() - first;
    auto msg = [&](size_t i) -> const json& { return messages[first + i]; };
    auto role = [&](size_t i) -> const std::string& { return role_of(first + i); };
    long last_user = -1;
    for (size_t i = 0; i < n; ++i)
        if (role(i) == "user") last_user = static_cast<long>(i);

    for (size_t i = 0; i < n; ++i) {
        const json& m = msg(i);
        if (role(i) == "tool") continue;
        prev = msg_type::none;
        const std::string r = role(i) == "assistant" ? "model" : role(i);

        // A model message right after an assistant message (tool results between them do not
        // count) continues the same turn.
        const std::string* prev_role = nullptr;
        for (size_t j = i; j-- > 0;) {
            if (role(j) != "tool") {
                prev_role = &role(j);
                break;
            }
        }
        if (!(r == "model" && prev_role && *prev_role == "assistant")) out += "<|turn>" + r + "\n";

        const json* thinking_text = truthy(jget(&m, "reasoning")) ? jget(&m, "reasoning") : jget(&m, "reasoning_content");
        const json* tool_calls = jget(&m, "tool_calls");
        if (truthy(thinking_text) && static_cast<long>(i) > last_user && truthy(tool_calls))
            out += "<|channel>thought\n" + py_str(*thinking_text) + "\n<channel|>";

        if (truthy(tool_calls)) {
            if (!tool_calls->is_array()) fail("messages[{}].tool_calls must be a list", first + i);
            for (size_t k = 0; k < tool_calls->size(); ++k) {
                const json* fn = jget(&(*tool_calls)[k], "function");
                if (!fn || !fn->is_object()) fail("messages[{}].tool_calls[{}] has no 'function' object", first + i, k);
                out += "<|tool_call>call:" + jstr(jget(fn, "name")) + "{";
                const json* args = jget(fn, "arguments");
                if (args && args->is_object()) {
                    bool first_arg = true;
                    for (const auto& [key, value] : dictsort(*args)) {
                        if (!first_arg) out += ',';
                        first_arg = false;
                        out += key + ":" + format_argument(value, false);
                    }
                } else if (args && args->is_string()) {
                    out += args->get<std::string>();
                }
                out += "}<tool_call|>";
            }
            prev = msg_type::tool_call;
        }

        bool responded = false;
        const json* tool_responses = jget(&m, "tool_responses");
        if (truthy(tool_responses)) {
            // Google's native form: results carried on the assistant message itself.
            for (const json& tr : jiter(tool_responses)) {
                const json* name = jget(&tr, "name");
                out += format_tool_response_block(name && !name->is_null() ? py_str(*name) : "unknown",
                                                  jget(&tr, "response"));
                responded = true;
                prev = msg_type::tool_response;
            }
        } else if (truthy(tool_calls)) {
            // OpenAI form: the role "tool" messages that follow, matched to calls by id.
            for (size_t k = i + 1; k < n && role(k) == "tool"; ++k) {
                const json& follow = msg(k);
                const json* name_v = jget(&follow, "name");
                std::string name = name_v && !name_v->is_null() ? py_str(*name_v) : "unknown";
                for (const json& tc : *tool_calls)
                    if (py_equal(jget(&tc, "id"), jget(&follow, "tool_call_id")))
                        name = jstr(jget(jget(&tc, "function"), "name"));
                const json* body = jget(&follow, "content");
                if (body && body->is_array()) {
                    json text = text_parts(*body);
                    out += format_tool_response_block(name, &text);
                } else if (!body) {
                    json none = nullptr;  // dict.get('content') of a message without content
                    out += format_tool_response_block(name, &none);
                } else {
                    out += format_tool_response_block(name, body);
                }
                responded = true;
                prev = msg_type::tool_response;
            }
        }

        const json* content = jget(&m, "content");
        if (content && content->is_string()) {
            out += r == "model" ? strip_thinking(content->get<std::string>()) : trim(content->get<std::string>());
        } else if (content && content->is_array()) {
            for (const json& item : *content) {
                const json* type = jget(&item, "type");
                std::string t = type && type->is_string() ? type->get<std::string>() : "";
                if (t == "text") {
                    std::string text = jstr(jget(&item, "text"));
                    out += r == "model" ? strip_thinking(text) : trim(text);
                } else if (t == "image") {
                    out += "<|image|>";
                    prev = msg_type::image;
                } else if (t == "audio") {
                    out += "<|audio|>";
                    prev = msg_type::audio;
                } else if (t == "video") {
                    out += "<|video|>";
                    prev = msg_type::video;
                }
            }
        }

        // A call without its result leaves the turn open for the result; results without
        // content leave it open for the model to continue.
        if (prev == msg_type::tool_call && !responded)
            out += "<|tool_response>";
        else if (!(responded && !truthy(content)))
            out += "<turn|>\n";
    }

    if (opt.add_generation_prompt && prev != msg_type::tool_response && prev != msg_type::tool_call) {
        out += "<|turn>model\n";
        if (!thinking) out += "<|channel>thought\n<channel|>";
    }
    return out;
}

json normalize_openai_messages(const json& messages) {
    json out = messages;
    if (!out.is_array()) return out;
    for (json& m : out) {
        if (!m.is_object() || !m.contains("tool_calls") || !m["tool_calls"].is_array()) continue;
        for (json& tc : m["tool_calls"]) {
            if (!tc.is_object() || !tc.contains("function") || !tc["function"].is_object()) continue;
            json& fn = tc["function"];
            if (!fn.contains("arguments") || !fn["arguments"].is_string()) continue;
            const std::string& text = fn["arguments"].get_ref<const std::string&>();
            if (py_strip(text).empty()) {
                fn["arguments"] = json::object();
                continue;
            }
            json parsed = json::parse(text, nullptr, false);
            if (!parsed.is_discarded() && parsed.is_object()) fn["arguments"] = std::move(parsed);
        }
    }
    return out;
}

bool is_gemma4_chat_template(std::string_view tmpl) {
    return tmpl.find("<|turn>") != std::string_view::npos && tmpl.find("<turn|>") != std::string_view::npos;
}

}  // namespace lf
