// Chat request → Gemma 4 prompt text (see chat-prompt.h).
#include "server/chat-prompt.h"

#include <algorithm>

#include "core/error.h"
#include "server/api-error.h"
#include "server/request-parse.h"
#include "tokenizer/chat-template.h"

namespace lf::server {

using json = nlohmann::json;

std::string render_chat_prompt(const json& body, bool add_generation_prompt) {
    auto msgs = body.find("messages");
    if (msgs == body.end() || !msgs->is_array() || msgs->empty())
        bad_param("messages", "'messages' must be a non-empty array");
    for (size_t i = 0; i < msgs->size(); ++i) {
        const json& m = (*msgs)[i];
        if (!m.is_object()) bad_param("messages", "messages[{}] must be an object", i);
        auto role = m.find("role");
        if (role == m.end() || !role->is_string())
            bad_param("messages", "messages[{}].role must be a string", i);
        static const char* k_roles[] = {"system", "developer", "user", "assistant", "tool"};
        if (std::find(std::begin(k_roles), std::end(k_roles), role->get<std::string>()) == std::end(k_roles))
            bad_param("messages", "messages[{}].role '{}' is not one of system, developer, user, assistant, tool", i,
                      role->get<std::string>());
        auto content = m.find("content");
        if (content != m.end() && !content->is_null() && !content->is_string() && !content->is_array())
            bad_param("messages", "messages[{}].content must be a string, an array of parts or null", i);
        if (content != m.end() && content->is_array())
            for (const json& part : *content)
                if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text") ||
                    !part["text"].is_string())
                    bad_param("messages", "messages[{}].content: only text parts ({{\"type\": \"text\", \"text\": ...}}) are supported", i);
    }
    json tools = json();
    if (auto t = body.find("tools"); t != body.end() && !t->is_null()) {
        if (!t->is_array()) bad_param("tools", "'tools' must be an array");
        for (size_t i = 0; i < t->size(); ++i) {
            const json& tool = (*t)[i];
            if (!tool.is_object() || !tool.contains("function") || !tool["function"].is_object() ||
                !tool["function"].contains("name") || !tool["function"]["name"].is_string())
                bad_param("tools", "tools[{}] must be {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}", i);
        }
        if (!t->empty()) tools = *t;
    }
    if (auto tc = body.find("tool_choice"); tc != body.end() && !tc->is_null()) {
        if (!tc->is_string()) bad_param("tool_choice", "only 'auto' and 'none' are supported for 'tool_choice'");
        const std::string& choice = tc->get_ref<const std::string&>();
        if (choice == "none") tools = json();
        else if (choice != "auto") bad_param("tool_choice", "only 'auto' and 'none' are supported for 'tool_choice'");
    }
    chat_template_options opt;
    opt.add_generation_prompt = add_generation_prompt;
    if (auto kw = body.find("chat_template_kwargs"); kw != body.end() && !kw->is_null()) {
        if (!kw->is_object()) bad_param("chat_template_kwargs", "'chat_template_kwargs' must be an object");
        opt.enable_thinking = opt_bool(*kw, "enable_thinking", false);
    }
    try {
        return render_gemma4_chat(normalize_openai_messages(*msgs), tools, opt);
    } catch (const lf::error& e) {
        bad_param("messages", "{}", e.what());
    }
}

}  // namespace lf::server
