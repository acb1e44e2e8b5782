// Errors answered to HTTP clients: an HTTP status plus the OpenAI error body
// {"error": {"message", "type", "param", "code"}}. Request handlers throw api_error for anything
// the client got wrong; the HTTP layer turns it into the response, so no handler builds error
// bodies by hand and no bad request can escape as a 500.
#pragma once
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace lf::server {

struct api_error : std::runtime_error {
    int status;
    std::string type;   // "invalid_request_error", "authentication_error", ...
    std::string param;  // the offending request field, "" when none
    std::string code;   // machine-readable reason, "" when none

    api_error(int status_, std::string message, std::string type_, std::string param_ = "", std::string code_ = "")
        : std::runtime_error(std::move(message)), status(status_), type(std::move(type_)), param(std::move(param_)),
          code(std::move(code_)) {}
};

// The body OpenAI clients parse; null param/code are spelled as null as OpenAI does.
inline nlohmann::json error_body(const std::string& message, const std::string& type, const std::string& param,
                                 const std::string& code) {
    nlohmann::json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
    if (!param.empty()) e["param"] = param;
    if (!code.empty()) e["code"] = code;
    return {{"error", e}};
}

inline nlohmann::json error_body(const api_error& e) { return error_body(e.what(), e.type, e.param, e.code); }

// 400 naming the request field that is wrong.
template <typename... Args>
[[noreturn]] void bad_param(const std::string& param, fmt::format_string<Args...> format, Args&&... args) {
    throw api_error(400, fmt::format(format, std::forward<Args>(args)...), "invalid_request_error", param);
}

}  // namespace lf::server
