// The Gemma 4 chat format, rendered directly in C++ (no Jinja interpreter). The output equals what
// transformers' apply_chat_template produces with the official template
// (google-gemma-4-31B-it.jinja): <bos>; a system turn when the first message is system/developer,
// tools are declared or thinking is on; <|turn>user/model turns; tool calls as
// <|tool_call>call:name{k:v,...}<tool_call|>; tool results folded into the calling model turn as
// <|tool_response>response:name{...}<tool_response|>; prior thinking stripped; and the generation
// prompt <|turn>model\n (+ an empty thought channel when thinking is off).
//
// Input is the OpenAI message list as JSON. The template's Jinja/Python semantics are kept where
// they show in the output: keys sorted case-insensitively, Python spellings of values (True ->
// "true" in arguments but None -> "None", 1e-05, 3.0), Python's str.strip() whitespace.
// Where the template would raise an error the renderer still produces the evident intent:
//   - a tool result whose content is an object renders as response:name{key:value,...};
//   - an unresolvable tool-result name renders as "unknown";
//   - a system message whose content is a list of parts uses the concatenated text parts.
// Messages that are not objects with a string "role", or tools without function.name, are
// rejected with lf::error naming the index.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace lf {

struct chat_template_options {
    bool add_generation_prompt = true;
    bool enable_thinking = false;
    std::string bos_token = "<bos>";
};

// messages: array of {role, content, tool_calls?, tool_call_id?, name?, reasoning_content?};
// tools: array of {type: "function", function: {name, description, parameters, response?}} or null.
std::string render_gemma4_chat(const nlohmann::json& messages, const nlohmann::json& tools,
                               const chat_template_options& options);

// OpenAI clients send tool-call arguments as JSON text; the Gemma 4 format spells out the object.
// Returns a copy in which every tool_calls[].function.arguments string that parses as a JSON object
// is replaced by that object (other strings are left as they are; the template prints them raw).
nlohmann::json normalize_openai_messages(const nlohmann::json& messages);

// True when a GGUF's tokenizer.chat_template is the Gemma 4 format this renderer implements.
bool is_gemma4_chat_template(std::string_view tmpl);

// Python's repr() of a float, as Jinja prints numbers ("1e-05", "3.0", "1e+16").
std::string py_float_repr(double d);

}  // namespace lf
