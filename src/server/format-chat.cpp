// /v1/chat/completions responses. The generated text runs through the incremental Gemma 4 output
// parser, so reasoning, content and tool calls come out as separate OpenAI fields; in a stream,
// a tool call is sent as one delta once its closing marker has arrived, however the marker text
// was split across engine steps (a speculative step can emit several tokens at once).
//
// Stream shape, as OpenAI sends it: a first chunk with delta {role: "assistant", content: ""},
// then deltas, then a chunk with an empty delta and finish_reason, then (if asked) a chunk with
// no choices and usage.
#include <ctime>

#include "server/response-format.h"
#include "tokenizer/chat-parser.h"

namespace lf::server {

namespace {

using json = nlohmann::json;

class chat_completion_format final : public response_format {
public:
    explicit chat_completion_format(format_common c)
        : c_(std::move(c)), id_(random_id("chatcmpl-")), created_(static_cast<int64_t>(std::time(nullptr))) {}

    std::vector<json> delta(const std::string& text, const std::vector<int32_t>& ids) override {
        std::vector<json> out;
        opening(out);
        chat_delta d = parser_.push(text);
        add_delta(d, ids, out);
        return out;
    }

    std::vector<json> finish(const gen_stats& st, const std::string& reason, bool include_usage) override {
        std::vector<json> out;
        opening(out);
        add_delta(parser_.finish(), {}, out);
        reason_ = n_tool_calls_ > 0 && reason == "stop" ? "tool_calls" : reason;
        json last = envelope();
        last["choices"] = json::array({{{"index", 0}, {"delta", json::object()}, {"logprobs", nullptr},
                                        {"finish_reason", reason_}}});
        last["timings"] = timings_json(st);
        out.push_back(last);
        if (include_usage) {
            json u = envelope();
            u["choices"] = json::array();
            u["usage"] = usage_json(st);
            out.push_back(u);
        }
        return out;
    }

    json whole(const std::string& text, const std::vector<int32_t>& ids, const gen_stats& st,
               const std::string& reason) override {
        gemma4_output_parser p;
        p.push(text);
        p.finish();
        const chat_parsed& parsed = p.result();
        reason_ = !parsed.tool_calls.empty() && reason == "stop" ? "tool_calls" : reason;
        json msg = {{"role", "assistant"}};
        // OpenAI sends content null when the turn is only tool calls.
        msg["content"] = parsed.content.empty() && !parsed.tool_calls.empty() ? json() : json(parsed.content);
        if (!parsed.reasoning_content.empty()) msg["reasoning_content"] = parsed.reasoning_content;
        if (!parsed.tool_calls.empty()) {
            json calls = json::array();
            for (const auto& tc : parsed.tool_calls) calls.push_back(tool_call_json(tc));
            msg["tool_calls"] = calls;
        }
        json r = envelope("chat.completion");
        json choice = {{"index", 0}, {"message", msg}, {"logprobs", nullptr}, {"finish_reason", reason_}};
        if (c_.return_tokens) choice["token_ids"] = ids;
        r["choices"] = json::array({choice});
        r["usage"] = usage_json(st);
        r["timings"] = timings_json(st);
        return r;
    }

    std::string reported_reason() const override { return reason_; }

private:
    json envelope(const char* object = "chat.completion.chunk") const {
        return {{"id", id_}, {"object", object}, {"created", created_}, {"model", c_.model},
                {"system_fingerprint", "leapfrog"}};
    }

    static json tool_call_json(const chat_tool_call& tc) {
        return {{"id", random_id("call_")},
                {"type", "function"},
                {"function", {{"name", tc.name}, {"arguments", tc.arguments.dump(-1, ' ', false, json::error_handler_t::replace)}}}};
    }

    void opening(std::vector<json>& out) {
        if (opened_) return;
        opened_ = true;
        json c = envelope();
        c["choices"] = json::array({{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", ""}}},
                                     {"logprobs", nullptr}, {"finish_reason", nullptr}}});
        out.push_back(c);
    }

    void add_delta(const chat_delta& d, const std::vector<int32_t>& ids, std::vector<json>& out) {
        if (d.empty() && (!c_.return_tokens || ids.empty())) return;
        json delta = json::object();
        if (!d.reasoning_content.empty()) delta["reasoning_content"] = d.reasoning_content;
        if (!d.content.empty()) delta["content"] = d.content;
        if (!d.tool_calls.empty()) {
            json calls = json::array();
            for (const auto& tc : d.tool_calls) {
                json call = tool_call_json(tc);
                call["index"] = n_tool_calls_++;
                calls.push_back(call);
            }
            delta["tool_calls"] = calls;
        }
        json c = envelope();
        json choice = {{"index", 0}, {"delta", delta}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
        if (c_.return_tokens) choice["token_ids"] = ids;
        c["choices"] = json::array({choice});
        out.push_back(c);
    }

    format_common c_;
    std::string id_;
    int64_t created_;
    gemma4_output_parser parser_;
    bool opened_ = false;
    int n_tool_calls_ = 0;
    std::string reason_;
};

}  // namespace

std::unique_ptr<response_format> make_chat_completion_format(format_common c) {
    return std::make_unique<chat_completion_format>(std::move(c));
}

}  // namespace lf::server
