// UTF-8 helpers; see utf8.h.
#include "tokenizer/utf8.h"

namespace lf {

namespace {

bool is_cont(unsigned char c) { return (c & 0xC0) == 0x80; }

// Expected total length from the lead byte, plus the allowed range of the second byte (which is
// where overlong forms, surrogates and values above U+10FFFF are excluded).
struct lead_info {
    size_t len;
    unsigned char lo, hi;
};

lead_info lead(unsigned char c) {
    if (c < 0x80) return {1, 0, 0};
    if (c >= 0xC2 && c <= 0xDF) return {2, 0x80, 0xBF};
    if (c == 0xE0) return {3, 0xA0, 0xBF};
    if (c >= 0xE1 && c <= 0xEC) return {3, 0x80, 0xBF};
    if (c == 0xED) return {3, 0x80, 0x9F};
    if (c >= 0xEE && c <= 0xEF) return {3, 0x80, 0xBF};
    if (c == 0xF0) return {4, 0x90, 0xBF};
    if (c >= 0xF1 && c <= 0xF3) return {4, 0x80, 0xBF};
    if (c == 0xF4) return {4, 0x80, 0x8F};
    return {0, 0, 0};
}

}  // namespace

size_t utf8_seq_len(std::string_view s, size_t i) {
    if (i >= s.size()) return 0;
    auto c = static_cast<unsigned char>(s[i]);
    lead_info li = lead(c);
    if (li.len <= 1) return li.len;
    if (i + li.len > s.size()) return 0;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c1 < li.lo || c1 > li.hi) return 0;
    for (size_t k = 2; k < li.len; ++k)
        if (!is_cont(static_cast<unsigned char>(s[i + k]))) return 0;
    return li.len;
}

size_t utf8_incomplete_tail(std::string_view s) {
    // A sequence is at most 4 bytes, so only the last 3 bytes can be an unfinished one.
    size_t n = s.size();
    for (size_t back = 1; back <= 3 && back <= n; ++back) {
        size_t i = n - back;
        auto c = static_cast<unsigned char>(s[i]);
        if (is_cont(c)) continue;
        lead_info li = lead(c);
        if (li.len <= back) return 0;  // ASCII, invalid lead, or already complete
        // Check that what is there is a valid prefix of a sequence.
        if (back >= 2) {
            auto c1 = static_cast<unsigned char>(s[i + 1]);
            if (c1 < li.lo || c1 > li.hi) return 0;
            for (size_t k = 2; k < back; ++k)
                if (!is_cont(static_cast<unsigned char>(s[i + k]))) return 0;
        }
        return back;
    }
    return 0;
}

std::string utf8_sanitize(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (i < s.size()) {
        size_t n = utf8_seq_len(s, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            ++i;
        } else {
            out.append(s.data() + i, n);
            i += n;
        }
    }
    return out;
}

uint32_t utf8_decode(std::string_view s, size_t i, size_t n) {
    auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k])); };
    switch (n) {
        case 1: return b(0);
        case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
        case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
        case 4: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
        default: return 0xFFFD;
    }
}

void utf8_append(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

bool py_isspace(uint32_t cp) {
    // Python's whitespace: Unicode White_Space plus the ASCII separators U+001C..U+001F.
    switch (cp) {
        case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D:
        case 0x1C: case 0x1D: case 0x1E: case 0x1F: case 0x20:
        case 0x85: case 0xA0: case 0x1680:
        case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
            return true;
        default:
            return cp >= 0x2000 && cp <= 0x200A;
    }
}

std::string_view py_strip(std::string_view s) {
    size_t b = 0;
    while (b < s.size()) {
        size_t n = utf8_seq_len(s, b);
        if (n == 0 || !py_isspace(utf8_decode(s, b, n))) break;
        b += n;
    }
    size_t e = s.size();
    while (e > b) {
        // Step back to the start of the last sequence.
        size_t st = e - 1;
        while (st > b && e - st < 4 && is_cont(static_cast<unsigned char>(s[st]))) --st;
        size_t n = utf8_seq_len(s, st);
        if (n != e - st || !py_isspace(utf8_decode(s, st, n))) break;
        e = st;
    }
    return s.substr(b, e - b);
}

}  // namespace lf
