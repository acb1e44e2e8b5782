// Parses Gemma 4 model output back into an OpenAI-style assistant message:
//   <|channel>thought\n ... <channel|>          → reasoning_content (one trailing '\n' dropped, the
//                                                 channel name line removed)
//   <|tool_call>call:NAME{k:v,...}<tool_call|>  → tool_calls[{name, arguments}]
//   everything else                             → content
// End-of-turn markers that may reach the text (<turn|>, <|tool_response>, <eos>) are dropped.
// Arguments use the template's value syntax: strings between <|"|> quotes, bare or <|"|>-quoted
// keys, {...} objects, [...] arrays, true/false, None/null, and numbers; any other bare word is
// kept as a string.
//
// gemma4_output_parser is incremental: push() accepts any chunking of the text (a marker may be
// split across chunks) and returns only what became certain; the concatenation of all deltas
// equals the one-shot parse. A tool call is delivered whole once its closing marker arrives.
// A tool call that never closes or does not parse is returned as content text at finish().
// Text is split only at (ASCII) marker boundaries, so when every pushed chunk is whole UTF-8
// characters (stream_detokenizer's output), every delta is too.
#pragma once
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace lf {

struct chat_tool_call {
    std::string name;
    nlohmann::json arguments = nlohmann::json::object();
    bool operator==(const chat_tool_call&) const = default;
};

struct chat_parsed {
    std::string content;
    std::string reasoning_content;
    std::vector<chat_tool_call> tool_calls;
};

// What one push()/finish() added.
struct chat_delta {
    std::string content;
    std::string reasoning_content;
    std::vector<chat_tool_call> tool_calls;  // calls completed by this chunk, in order
    bool empty() const { return content.empty() && reasoning_content.empty() && tool_calls.empty(); }
};

class gemma4_output_parser {
public:
    // in_reasoning: the prompt already opened the thought channel, so output starts inside it.
    explicit gemma4_output_parser(bool in_reasoning = false);

    chat_delta push(std::string_view text);
    // End of output: releases held-back text and unterminated constructs.
    chat_delta finish();
    // Everything parsed so far.
    const chat_parsed& result() const { return result_; }

private:
    enum class state { content, channel_header, reasoning, tool_call };
    void process(bool final, chat_delta& d);
    void emit_content(std::string_view s, chat_delta& d);
    void emit_reasoning(std::string_view s, chat_delta& d);

    state state_ = state::content;
    std::string buf_;           // unprocessed text
    size_t scan_ = 0;           // tool_call: bytes of buf_ already scanned
    bool in_string_ = false;    // tool_call: inside a <|"|> string
    chat_parsed result_;
    bool finished_ = false;
};

chat_parsed parse_gemma4_output(std::string_view text, bool in_reasoning = false);

// Parses a call body "call:NAME{...}" (without the markers). Throws lf::error when malformed.
chat_tool_call parse_gemma4_tool_call(std::string_view body);
// Parses "{k:v,...}" into a JSON object. Throws lf::error when malformed.
nlohmann::json parse_gemma4_arguments(std::string_view text);

}  // namespace lf
