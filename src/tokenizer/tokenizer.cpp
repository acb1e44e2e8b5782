// Gemma BPE tokenizer; see tokenizer.h for the algorithm and the matching policy.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <queue>

#include "core/error.h"
#include "tokenizer/utf8.h"

namespace lf {

namespace {

constexpr std::string_view k_space_escape = "\xE2\x96\x81";  // U+2581 '▁'

// Markers that are special tokens in every Gemma tokenizer.json. A GGUF whose converter typed them
// NORMAL (it happens when transformers does not list them among its special tokens) would
// otherwise let chat prompts fall apart into "<", "|", "turn", ">".
constexpr std::string_view k_known_special_markers[] = {
    "<bos>", "<eos>", "<pad>", "<unk>", "<|turn>", "<turn|>", "<|think|>", "<|tool>", "<tool|>",
    "<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>", "<|tool_response>", "<tool_response|>",
    "<|\"|>", "<|image>", "<image|>", "<|audio>", "<audio|>", "<|image|>", "<|audio|>", "<|video|>",
    "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>", "<image_soft_token>",
};

// End of generation by text (llama.cpp's gemma4 set, plus Gemma 3's end of turn). "</s>" is
// deliberately absent: Gemma's vocab has it as ordinary text.
constexpr std::string_view k_eog_texts[] = {"<eos>", "<turn|>", "<|tool_response>", "<end_of_turn>"};

bool is_visible_marker(std::string_view t) {
    for (const char* m : k_gemma4_visible_markers)
        if (t == m) return true;
    return false;
}

bool is_known_special(std::string_view t) {
    return std::find(std::begin(k_known_special_markers), std::end(k_known_special_markers), t) !=
           std::end(k_known_special_markers);
}

// "<0xAB>" → 0xAB, or -1.
int parse_byte_token(std::string_view t) {
    if (t.size() != 6 || t[0] != '<' || t[1] != '0' || t[2] != 'x' || t[5] != '>') return -1;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    int hi = hex(t[3]), lo = hex(t[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

uint64_t pair_key(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

}  // namespace

tokenizer::tokenizer(vocab v) : voc_(std::move(v)) {
    voc_.validate();
    const int32_t n = voc_.n_tokens();

    token_to_id_.reserve(static_cast<size_t>(n) * 2);
    for (int32_t i = 0; i < n; ++i) token_to_id_.insert_or_assign(voc_.tokens[i], i);

    byte_ids_.fill(-1);
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", b);
        if (auto it = token_to_id_.find(std::string_view(name)); it != token_to_id_.end()) byte_ids_[b] = it->second;
    }

    // Merge rank = position in the list. A repeated pair keeps its last rank, as HF's map does.
    merges_.reserve(voc_.merges.size() * 2);
    for (size_t r = 0; r < voc_.merges.size(); ++r) {
        const std::string& m = voc_.merges[r];
        size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
        if (sp == std::string::npos || sp + 1 >= m.size())
            fail("tokenizer.ggml.merges[{}] = '{}' is not of the form 'left right'", r, m);
        std::string_view left(m.data(), sp), right(m.data() + sp + 1, m.size() - sp - 1);
        auto il = token_to_id_.find(left), ir = token_to_id_.find(right);
        auto im = token_to_id_.find(std::string(left) + std::string(right));
        if (il == token_to_id_.end() || ir == token_to_id_.end() || im == token_to_id_.end())
            fail("tokenizer.ggml.merges[{}] = '{}' names a token that is not in the vocabulary", r, m);
        merges_.insert_or_assign(pair_key(il->second, ir->second), merge_info{static_cast<int32_t>(r), im->second});
    }

    pieces_.resize(n);
    match_rule_.assign(n, match_rule::never);
    for (int32_t i = 0; i < n; ++i) {
        const std::string& t = voc_.tokens[i];
        token_type ty = voc_.types[i];
        if (ty == token_type::byte && parse_byte_token(t) >= 0) {
            pieces_[i] = std::string(1, static_cast<char>(parse_byte_token(t)));
        } else if (ty == token_type::normal || ty == token_type::user_defined || ty == token_type::undefined) {
            std::string p;
            p.reserve(t.size());
            for (size_t k = 0; k < t.size();) {
                if (t.compare(k, k_space_escape.size(), k_space_escape) == 0) {
                    p += ' ';
                    k += k_space_escape.size();
                } else {
                    p += t[k++];
                }
            }
            pieces_[i] = std::move(p);
        } else {
            pieces_[i] = t;  // control / unknown / unused: shown verbatim when rendering specials
        }

        if (t.empty() || ty == token_type::byte) continue;
        if (is_visible_marker(t) || ty == token_type::control || ty == token_type::unknown)
            match_rule_[i] = match_rule::special_only;
        else if (ty == token_type::user_defined)
            match_rule_[i] = match_rule::always;
        else if (ty == token_type::normal && is_known_special(t))
            match_rule_[i] = match_rule::special_only;
    }

    // Trie of matchable added tokens. A text shared by several ids keeps the last one, like the
    // text → id map.
    trie_root_.fill(-1);
    trie_.emplace_back();  // node 0: unused placeholder so that 0 never means "child"
    for (int32_t i = 0; i < n; ++i) {
        if (match_rule_[i] == match_rule::never) continue;
        const std::string& t = voc_.tokens[i];
        auto first = static_cast<uint8_t>(t[0]);
        if (trie_root_[first] < 0) {
            trie_root_[first] = static_cast<int32_t>(trie_.size());
            trie_.emplace_back();
        }
        int32_t node = trie_root_[first];
        for (size_t k = 1; k < t.size(); ++k) {
            auto c = static_cast<uint8_t>(t[k]);
            auto& ch = trie_[node].children;
            auto it = std::lower_bound(ch.begin(), ch.end(), c,
                                       [](const std::pair<uint8_t, int32_t>& e, uint8_t b) { return e.first < b; });
            if (it != ch.end() && it->first == c) {
                node = it->second;
            } else {
                auto next = static_cast<int32_t>(trie_.size());
                ch.insert(it, {c, next});
                trie_.emplace_back();
                node = next;
            }
        }
        trie_[node].token = i;
    }

    eog_.assign(n, false);
    auto add_eog = [&](int32_t id) {
        if (id >= 0 && id < n && !eog_[id]) {
            eog_[id] = true;
            eog_ids_.push_back(id);
        }
    };
    add_eog(voc_.eos_id);
    for (std::string_view t : k_eog_texts)
        if (auto id = find_token(t)) add_eog(*id);
}

std::optional<int32_t> tokenizer::find_token(std::string_view text) const {
    auto it = token_to_id_.find(text);
    if (it == token_to_id_.end()) return std::nullopt;
    return it->second;
}

const std::string& tokenizer::token_text(int32_t id) const {
    static const std::string empty;
    return id >= 0 && id < n_tokens() ? voc_.tokens[id] : empty;
}

bool tokenizer::is_control(int32_t id) const {
    return id >= 0 && id < n_tokens() && voc_.types[id] == token_type::control;
}

std::pair<int32_t, size_t> tokenizer::match_added(std::string_view text, size_t pos) const {
    int32_t node = trie_root_[static_cast<uint8_t>(text[pos])];
    if (node < 0) return {-1, 0};
    int32_t best = trie_[node].token;
    size_t best_len = best >= 0 ? 1 : 0;
    for (size_t k = pos + 1; k < text.size(); ++k) {
        auto c = static_cast<uint8_t>(text[k]);
        const auto& ch = trie_[node].children;
        auto it = std::lower_bound(ch.begin(), ch.end(), c,
                                   [](const std::pair<uint8_t, int32_t>& e, uint8_t b) { return e.first < b; });
        if (it == ch.end() || it->first != c) break;
        node = it->second;
        if (trie_[node].token >= 0) {
            best = trie_[node].token;
            best_len = k - pos + 1;
        }
    }
    return {best, best_len};
}

std::vector<int32_t> tokenizer::tokenize(std::string_view text, bool add_special, bool parse_special) const {
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 2);
    if (add_special && voc_.add_bos && voc_.bos_id >= 0) out.push_back(voc_.bos_id);

    // Added tokens are found leftmost-longest over all candidates; a candidate the caller does not
    // allow is skipped as a whole and stays plain text (as HF does with encode_special_tokens).
    size_t seg = 0, i = 0;
    while (i < text.size()) {
        auto [id, len] = match_added(text, i);
        if (id < 0) {
            ++i;
            continue;
        }
        match_rule rule = match_rule_[id];
        if (rule == match_rule::always || (rule == match_rule::special_only && parse_special)) {
            tokenize_text(text.substr(seg, i - seg), out);
            out.push_back(id);
            seg = i + len;
        }
        i += len;
    }
    tokenize_text(text.substr(seg), out);

    if (add_special && voc_.add_eos && voc_.eos_id >= 0) out.push_back(voc_.eos_id);
    return out;
}

void tokenizer::tokenize_text(std::string_view text, std::vector<int32_t>& out) const {
    if (text.empty()) return;
    // Normalizer: ' ' → '▁' (no prefix space: add_space_prefix is false for gemma4).
    std::string norm;
    norm.reserve(text.size() + text.size() / 4);
    for (char c : text) {
        if (c == ' ')
            norm += k_space_escape;
        else
            norm += c;
    }
    // Pre-tokenizer: runs of '\n' and runs of everything else.
    std::string_view s(norm);
    size_t i = 0;
    while (i < s.size()) {
        size_t j = i;
        if (s[i] == '\n') {
            while (j < s.size() && s[j] == '\n') ++j;
            if (auto it = token_to_id_.find(s.substr(i, j - i)); it != token_to_id_.end()) {
                out.push_back(it->second);
                i = j;
                continue;
            }
        } else {
            while (j < s.size() && s[j] != '\n') ++j;
        }
        bpe(s.substr(i, j - i), out);
        i = j;
    }
}

void tokenizer::bpe(std::string_view word, std::vector<int32_t>& out) const {
    struct symbol {
        int32_t id;  // -1 once merged into its left neighbour
        int32_t prev, next;
    };
    std::vector<symbol> syms;
    syms.reserve(word.size());
    bool last_is_unk = false;
    for (size_t i = 0; i < word.size();) {
        size_t n = utf8_seq_len(word, i);
        if (n == 0) n = 1;  // an invalid byte is its own unit; it can only become a byte token
        auto it = token_to_id_.find(word.substr(i, n));
        if (it != token_to_id_.end()) {
            syms.push_back({it->second, 0, 0});
            last_is_unk = false;
        } else {
            bool have_bytes = true;
            for (size_t k = i; k < i + n; ++k) have_bytes = have_bytes && byte_ids_[static_cast<uint8_t>(word[k])] >= 0;
            if (have_bytes) {
                for (size_t k = i; k < i + n; ++k) syms.push_back({byte_ids_[static_cast<uint8_t>(word[k])], 0, 0});
                last_is_unk = false;
            } else if (voc_.unk_id >= 0 && !last_is_unk) {
                syms.push_back({voc_.unk_id, 0, 0});  // consecutive unknown characters fuse into one
                last_is_unk = true;
            }
        }
        i += n;
    }
    const auto n_sym = static_cast<int32_t>(syms.size());
    if (n_sym == 0) return;
    for (int32_t k = 0; k < n_sym; ++k) {
        syms[k].prev = k - 1;
        syms[k].next = k + 1 < n_sym ? k + 1 : -1;
    }

    // Lowest rank first, leftmost among equal ranks. Entries go stale when a neighbour merges;
    // they are recognised (as in HF) by the pair no longer producing the same token.
    struct candidate {
        int32_t rank, pos, new_id;
    };
    auto worse = [](const candidate& a, const candidate& b) { return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos; };
    std::priority_queue<candidate, std::vector<candidate>, decltype(worse)> queue(worse);
    auto push_pair = [&](int32_t pos) {
        int32_t nx = syms[pos].next;
        if (nx < 0) return;
        auto it = merges_.find(pair_key(syms[pos].id, syms[nx].id));
        if (it != merges_.end()) queue.push({it->second.rank, pos, it->second.new_id});
    };
    for (int32_t k = 0; k + 1 < n_sym; ++k) push_pair(k);

    while (!queue.empty()) {
        candidate top = queue.top();
        queue.pop();
        symbol& cur = syms[top.pos];
        if (cur.id < 0 || cur.next < 0) continue;
        auto it = merges_.find(pair_key(cur.id, syms[cur.next].id));
        if (it == merges_.end() || it->second.new_id != top.new_id) continue;
        symbol& right = syms[cur.next];
        cur.id = top.new_id;
        cur.next = right.next;
        right.id = -1;
        if (cur.next >= 0) syms[cur.next].prev = top.pos;
        if (cur.prev >= 0) push_pair(cur.prev);
        push_pair(top.pos);
    }
    for (int32_t k = 0; k >= 0; k = syms[k].next) out.push_back(syms[k].id);
}

std::string_view tokenizer::token_to_piece(int32_t id, bool render_special) const {
    if (id < 0 || id >= n_tokens()) return {};
    token_type ty = voc_.types[id];
    if (!render_special && (ty == token_type::control || ty == token_type::unknown || ty == token_type::unused))
        return {};
    return pieces_[id];
}

std::string tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
    std::string out;
    for (int32_t id : ids) {
        if (id < 0 || id >= n_tokens()) fail("token id {} is outside the vocabulary (size {})", id, n_tokens());
        out += token_to_piece(id, render_special);
    }
    return out;
}

}  // namespace lf
