// UTF-8 helpers shared by the tokenizer, the streaming detokenizer and the chat format.
// Invalid input is never an error here: a byte that does not start a well-formed sequence is
// treated as a one-byte unit (tokenizer) or replaced by U+FFFD (text meant for clients).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lf {

// Length of the well-formed UTF-8 sequence starting at s[i] (1..4), or 0 when the bytes there
// are not one (stray continuation byte, overlong form, surrogate, > U+10FFFF, or truncated).
size_t utf8_seq_len(std::string_view s, size_t i);

// Number of bytes at the end of s that form the start of a well-formed sequence still missing
// its continuation bytes (0..3). These are what a streaming decoder must hold back.
size_t utf8_incomplete_tail(std::string_view s);

// Copy of s with every byte that is not part of a well-formed sequence replaced by U+FFFD.
std::string utf8_sanitize(std::string_view s);

// Decodes the well-formed sequence of length n at s[i].
uint32_t utf8_decode(std::string_view s, size_t i, size_t n);
void utf8_append(std::string& out, uint32_t cp);

// Python's str.isspace() for one code point (what Jinja's `trim` filter strips).
bool py_isspace(uint32_t cp);
// Python's str.strip() with no arguments, on UTF-8 text.
std::string_view py_strip(std::string_view s);

}  // namespace lf
