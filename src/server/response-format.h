// Turns a generation into OpenAI response objects: whole responses for "stream": false, chunks
// for "stream": true. Two kinds exist — text completions and chat completions (which parse the
// Gemma 4 output into content, reasoning and tool calls) — and the request runner drives either
// through this one interface.
//
// Every final chunk and whole response carries `timings` (llama.cpp's object, plus draft_n and
// draft_n_accepted); whole responses and the optional usage chunk carry OpenAI `usage`.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/engine.h"

namespace lf::server {

nlohmann::json usage_json(const gen_stats& st);
nlohmann::json timings_json(const gen_stats& st);
// prefix followed by random alphanumerics ("chatcmpl-", "call_" as OpenAI spells them).
std::string random_id(const std::string& prefix, int n_chars = 24);

class response_format {
public:
    virtual ~response_format() = default;
    // Stream chunks for text (and ids) generated since the last call; may be none.
    virtual std::vector<nlohmann::json> delta(const std::string& text, const std::vector<int32_t>& ids) = 0;
    // Stream chunks that close the stream: remaining deltas, the chunk with finish_reason and
    // timings, and the usage chunk when asked for. `reason` is "stop", "length" or "cancelled".
    virtual std::vector<nlohmann::json> finish(const gen_stats& st, const std::string& reason, bool include_usage) = 0;
    // The whole response of a non-streamed request.
    virtual nlohmann::json whole(const std::string& text, const std::vector<int32_t>& ids, const gen_stats& st,
                                 const std::string& reason) = 0;
    // The finish_reason reported (after finish() or whole(): "tool_calls" replaces "stop" when the
    // model called tools).
    virtual std::string reported_reason() const = 0;
};

struct format_common {
    std::string model;            // the model id echoed in responses
    bool return_tokens = false;   // add token_ids to choices
};

std::unique_ptr<response_format> make_text_completion_format(format_common c);
std::unique_ptr<response_format> make_chat_completion_format(format_common c);

}  // namespace lf::server
