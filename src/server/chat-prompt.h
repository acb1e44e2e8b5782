// The prompt of a chat request: validates messages, tools, tool_choice and chat_template_kwargs
// (400 naming the field) and renders them in the Gemma 4 chat format. Only text content parts are
// accepted; tool_choice may be "auto" (the default) or "none" (tools are left out of the prompt).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace lf::server {

std::string render_chat_prompt(const nlohmann::json& body, bool add_generation_prompt);

}  // namespace lf::server
