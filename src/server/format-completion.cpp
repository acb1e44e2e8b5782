// /v1/completions responses: object "text_completion", one choice with the generated text.
#include <ctime>

#include "server/response-format.h"

namespace lf::server {

namespace {

using json = nlohmann::json;

class text_completion_format final : public response_format {
public:
    explicit text_completion_format(format_common c)
        : c_(std::move(c)), id_(random_id("cmpl-")), created_(static_cast<int64_t>(std::time(nullptr))) {}

    std::vector<json> delta(const std::string& text, const std::vector<int32_t>& ids) override {
        if (text.empty() && (!c_.return_tokens || ids.empty())) return {};
        return {chunk(text, ids, json())};
    }

    std::vector<json> finish(const gen_stats& st, const std::string& reason, bool include_usage) override {
        reason_ = reason;
        json last = chunk("", {}, reason);
        last["timings"] = timings_json(st);
        std::vector<json> out{last};
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
        reason_ = reason;
        json r = envelope();
        json choice = {{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", reason}};
        if (c_.return_tokens) choice["token_ids"] = ids;
        r["choices"] = json::array({choice});
        r["usage"] = usage_json(st);
        r["timings"] = timings_json(st);
        return r;
    }

    std::string reported_reason() const override { return reason_; }

private:
    json envelope() const {
        return {{"id", id_}, {"object", "text_completion"}, {"created", created_}, {"model", c_.model},
                {"system_fingerprint", "leapfrog"}};
    }
    json chunk(const std::string& text, const std::vector<int32_t>& ids, const json& reason) const {
        json r = envelope();
        json choice = {{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", reason}};
        if (c_.return_tokens) choice["token_ids"] = ids;
        r["choices"] = json::array({choice});
        return r;
    }

    format_common c_;
    std::string id_;
    int64_t created_;
    std::string reason_;
};

}  // namespace

std::unique_ptr<response_format> make_text_completion_format(format_common c) {
    return std::make_unique<text_completion_format>(std::move(c));
}

}  // namespace lf::server
