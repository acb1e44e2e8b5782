// Gemma 4 output parser; see chat-parser.h.
#include "tokenizer/chat-parser.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace lf {

using nlohmann::json;

namespace {

constexpr std::string_view k_channel_open = "<|channel>";
constexpr std::string_view k_channel_close = "<channel|>";
constexpr std::string_view k_call_open = "<|tool_call>";
constexpr std::string_view k_call_close = "<tool_call|>";
constexpr std::string_view k_quote = "<|\"|>";
constexpr std::string_view k_reasoning_end = "\n<channel|>";
// Markers that end generation; if their text reaches the parser it is not content.
constexpr std::string_view k_dropped[] = {"<turn|>", "<|tool_response>", "<eos>", k_channel_close};
// Everything the content state reacts to.
constexpr std::string_view k_content_markers[] = {k_channel_open, k_call_open, "<turn|>", "<|tool_response>",
                                                  "<eos>", k_channel_close};

bool starts_with_at(std::string_view s, size_t i, std::string_view m) { return s.substr(i, m.size()) == m; }

// s[i..] is shorter than m and is the beginning of m.
bool is_partial_at(std::string_view s, size_t i, std::string_view m) {
    std::string_view rest = s.substr(i);
    return rest.size() < m.size() && m.substr(0, rest.size()) == rest;
}

// Length of the longest suffix of s that is a proper prefix of m.
size_t partial_suffix(std::string_view s, std::string_view m) {
    for (size_t n = std::min(s.size(), m.size() - 1); n > 0; --n)
        if (s.substr(s.size() - n) == m.substr(0, n)) return n;
    return 0;
}

// ---- argument syntax -----------------------------------------------------------------------

struct arg_reader {
    std::string_view s;
    size_t i = 0;

    [[noreturn]] void error(const char* what) const {
        fail("malformed tool-call arguments at byte {}: {} (in '{}')", i, what, std::string(s.substr(0, 200)));
    }
    void skip_ws() {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
    }
    std::string quoted() {
        i += k_quote.size();
        size_t end = s.find(k_quote, i);
        if (end == std::string_view::npos) error("unterminated <|\"|> string");
        std::string out(s.substr(i, end - i));
        i = end + k_quote.size();
        return out;
    }
    json value() {
        skip_ws();
        if (i >= s.size()) error("value expected");
        if (starts_with_at(s, i, k_quote)) return quoted();
        if (s[i] == '{') return object();
        if (s[i] == '[') return array();
        size_t start = i;
        while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']') ++i;
        return scalar(py_strip(s.substr(start, i - start)));
    }
    static json scalar(std::string_view w) {
        if (w == "true" || w == "True") return true;
        if (w == "false" || w == "False") return false;
        if (w == "null" || w == "None") return nullptr;
        bool is_number = !w.empty();
        bool is_float = false;
        size_t k = 0;
        if (k < w.size() && (w[k] == '-' || w[k] == '+')) ++k;
        size_t digits = 0;
        for (; k < w.size(); ++k) {
            char c = w[k];
            if (c >= '0' && c <= '9') {
                ++digits;
            } else if (c == '.' || c == 'e' || c == 'E') {
                is_float = true;
            } else if ((c == '-' || c == '+') && (w[k - 1] == 'e' || w[k - 1] == 'E')) {
            } else {
                is_number = false;
                break;
            }
        }
        if (is_number && digits > 0) {
            std::string t(w[0] == '+' ? w.substr(1) : w);
            if (!is_float) {
                int64_t v = 0;
                auto r = std::from_chars(t.data(), t.data() + t.size(), v);
                if (r.ec == std::errc() && r.ptr == t.data() + t.size()) return v;
                uint64_t u = 0;
                r = std::from_chars(t.data(), t.data() + t.size(), u);
                if (r.ec == std::errc() && r.ptr == t.data() + t.size()) return u;
            }
            char* end = nullptr;
            double d = std::strtod(t.c_str(), &end);
            if (end == t.c_str() + t.size()) return d;
        }
        return std::string(w);
    }
    std::string key() {
        skip_ws();
        if (starts_with_at(s, i, k_quote)) return quoted();
        size_t start = i;
        while (i < s.size() && s[i] != ':' && s[i] != ',' && s[i] != '}') ++i;
        std::string_view k = py_strip(s.substr(start, i - start));
        if (k.empty()) error("key expected");
        return std::string(k);
    }
    json object() {
        ++i;  // '{'
        json out = json::object();
        skip_ws();
        if (i < s.size() && s[i] == '}') {
            ++i;
            return out;
        }
        while (true) {
            std::string k = key();
            skip_ws();
            if (i >= s.size() || s[i] != ':') error("':' expected after a key");
            ++i;
            out[k] = value();
            skip_ws();
            if (i < s.size() && s[i] == ',') {
                ++i;
                continue;
            }
            if (i < s.size() && s[i] == '}') {
                ++i;
                return out;
            }
            error("',' or '}' expected");
        }
    }
    json array() {
        ++i;  // '['
        json out = json::array();
        skip_ws();
        if (i < s.size() && s[i] == ']') {
            ++i;
            return out;
        }
        while (true) {
            out.push_back(value());
            skip_ws();
            if (i < s.size() && s[i] == ',') {
                ++i;
                continue;
            }
            if (i < s.size() && s[i] == ']') {
                ++i;
                return out;
            }
            error("',' or ']' expected");
        }
    }
};

}  // namespace

json parse_gemma4_arguments(std::string_view text) {
    arg_reader r{text};
    r.skip_ws();
    if (r.i >= text.size() || text[r.i] != '{') r.error("'{' expected");
    json out = r.object();
    r.skip_ws();
    if (r.i != text.size()) r.error("trailing text after the arguments");
    return out;
}

chat_tool_call parse_gemma4_tool_call(std::string_view body) {
    std::string_view b = py_strip(body);
    if (b.substr(0, 5) != "call:") fail("tool call does not start with 'call:' (in '{}')", std::string(b.substr(0, 200)));
    size_t brace = b.find('{');
    if (brace == std::string_view::npos) fail("tool call has no argument object (in '{}')", std::string(b.substr(0, 200)));
    chat_tool_call tc;
    tc.name = std::string(py_strip(b.substr(5, brace - 5)));
    if (tc.name.empty()) fail("tool call has an empty function name");
    tc.arguments = parse_gemma4_arguments(b.substr(brace));
    return tc;
}

gemma4_output_parser::gemma4_output_parser(bool in_reasoning)
    : state_(in_reasoning ? state::reasoning : state::content) {}

void gemma4_output_parser::emit_content(std::string_view s, chat_delta& d) {
    d.content += s;
    result_.content += s;
}

void gemma4_output_parser::emit_reasoning(std::string_view s, chat_delta& d) {
    d.reasoning_content += s;
    result_.reasoning_content += s;
}

chat_delta gemma4_output_parser::push(std::string_view text) {
    chat_delta d;
    if (finished_) fail("output parser: push() after finish()");
    buf_ += text;
    process(false, d);
    return d;
}

chat_delta gemma4_output_parser::finish() {
    chat_delta d;
    if (finished_) return d;
    process(true, d);
    finished_ = true;
    return d;
}

void gemma4_output_parser::process(bool final, chat_delta& d) {
    while (true) {
        std::string_view s(buf_);
        switch (state_) {
            case state::content: {
                size_t k = 0;
                while ((k = s.find('<', k)) != std::string_view::npos) {
                    std::string_view hit;
                    for (std::string_view m : k_content_markers)
                        if (starts_with_at(s, k, m)) hit = m;
                    if (!hit.empty()) break;
                    bool partial = false;
                    for (std::string_view m : k_content_markers) partial = partial || is_partial_at(s, k, m);
                    if (partial && !final) break;
                    ++k;
                }
                if (k == std::string_view::npos) {
                    emit_content(s, d);
                    buf_.clear();
                    return;
                }
                emit_content(s.substr(0, k), d);
                if (starts_with_at(s, k, k_channel_open)) {
                    buf_.erase(0, k + k_channel_open.size());
                    state_ = state::channel_header;
                } else if (starts_with_at(s, k, k_call_open)) {
                    buf_.erase(0, k + k_call_open.size());
                    state_ = state::tool_call;
                    scan_ = 0;
                    in_string_ = false;
                } else {
                    bool dropped = false;
                    for (std::string_view m : k_dropped) {
                        if (starts_with_at(s, k, m)) {
                            buf_.erase(0, k + m.size());
                            dropped = true;
                            break;
                        }
                    }
                    if (!dropped) {  // a partial marker at the end: wait for more
                        buf_.erase(0, k);
                        return;
                    }
                }
                break;
            }
            case state::channel_header: {
                // "<|channel>NAME\n": the name line (an identifier of at most 32 characters) is not
                // reasoning text. Anything else after <|channel> is.
                auto is_name_char = [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
                };
                size_t k = 0;
                while (k < s.size() && k <= 32 && is_name_char(s[k])) ++k;
                if (k > 32) {
                    state_ = state::reasoning;
                } else if (k == s.size()) {
                    if (!final) return;
                    buf_.clear();  // output ended right after the channel name
                    state_ = state::reasoning;
                } else if (s[k] == '\n') {
                    buf_.erase(0, k + 1);
                    state_ = state::reasoning;
                } else if (starts_with_at(s, k, k_channel_close)) {
                    buf_.erase(0, k + k_channel_close.size());
                    state_ = state::content;
                } else if (is_partial_at(s, k, k_channel_close) && !final) {
                    return;
                } else {
                    state_ = state::reasoning;
                }
                break;
            }
            case state::reasoning: {
                size_t close = s.find(k_channel_close);
                if (close != std::string_view::npos) {
                    size_t end = close;
                    if (end > 0 && s[end - 1] == '\n') --end;  // the template writes text + "\n<channel|>"
                    emit_reasoning(s.substr(0, end), d);
                    buf_.erase(0, close + k_channel_close.size());
                    state_ = state::content;
                    break;
                }
                size_t hold = final ? 0 : std::max(partial_suffix(s, k_reasoning_end), partial_suffix(s, k_channel_close));
                emit_reasoning(s.substr(0, s.size() - hold), d);
                buf_.erase(0, s.size() - hold);
                return;
            }
            case state::tool_call: {
                size_t j = scan_;
                bool closed = false;
                while (j < s.size()) {
                    if (starts_with_at(s, j, k_quote)) {
                        in_string_ = !in_string_;
                        j += k_quote.size();
                    } else if (!in_string_ && starts_with_at(s, j, k_call_close)) {
                        closed = true;
                        break;
                    } else if (is_partial_at(s, j, k_quote) || (!in_string_ && is_partial_at(s, j, k_call_close))) {
                        break;  // a marker may be split across chunks: wait
                    } else {
                        ++j;
                    }
                }
                if (closed) {
                    std::string_view body = s.substr(0, j);
                    try {
                        chat_tool_call tc = parse_gemma4_tool_call(body);
                        d.tool_calls.push_back(tc);
                        result_.tool_calls.push_back(std::move(tc));
                    } catch (const error&) {
                        emit_content(std::string(k_call_open) + std::string(s.substr(0, j + k_call_close.size())), d);
                    }
                    buf_.erase(0, j + k_call_close.size());
                    state_ = state::content;
                    break;
                }
                scan_ = j;
                if (!final) return;
                // Output ended inside a call (e.g. the token limit hit before <tool_call|>).
                try {
                    chat_tool_call tc = parse_gemma4_tool_call(s);
                    d.tool_calls.push_back(tc);
                    result_.tool_calls.push_back(std::move(tc));
                } catch (const error&) {
                    emit_content(std::string(k_call_open) + std::string(s), d);
                }
                buf_.clear();
                state_ = state::content;
                return;
            }
        }
    }
}

chat_parsed parse_gemma4_output(std::string_view text, bool in_reasoning) {
    gemma4_output_parser p(in_reasoning);
    p.push(text);
    p.finish();
    return p.result();
}

}  // namespace lf
