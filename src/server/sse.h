// Server-sent events as OpenAI streams them: each event is one line "data: <json>" followed by a
// blank line, and the stream ends with "data: [DONE]". JSON is dumped with invalid UTF-8 replaced
// (text reaching here is already sanitized; this is the last line of defence, never a throw).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace lf::server {

inline std::string dump_json(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

inline std::string sse_event(const nlohmann::json& j) { return "data: " + dump_json(j) + "\n\n"; }

inline const std::string& sse_done() {
    static const std::string done = "data: [DONE]\n\n";
    return done;
}

}  // namespace lf::server
