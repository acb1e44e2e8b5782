// Stop sequences on streamed text (see stop-matcher.h).
#include "server/stop-matcher.h"

#include <algorithm>

namespace lf::server {

stop_matcher::stop_matcher(std::vector<std::string> stops) {
    for (auto& s : stops)
        if (!s.empty()) stops_.push_back(std::move(s));
}

std::string stop_matcher::push(std::string_view text) {
    if (stopped_) return {};
    held_.append(text);
    // Earliest full match wins; among matches at the same place, the longest.
    size_t best = std::string::npos;
    const std::string* best_stop = nullptr;
    for (const auto& s : stops_) {
        size_t at = held_.find(s);
        if (at == std::string::npos) continue;
        if (at < best || (at == best && s.size() > best_stop->size())) {
            best = at;
            best_stop = &s;
        }
    }
    if (best != std::string::npos) {
        stopped_ = true;
        matched_ = *best_stop;
        std::string out = held_.substr(0, best);
        held_.clear();
        return out;
    }
    // Hold back the longest tail that is a proper prefix of some stop string.
    size_t keep = 0;
    for (const auto& s : stops_) {
        size_t max_len = std::min(s.size() - 1, held_.size());
        for (size_t len = max_len; len > keep; --len)
            if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
                keep = len;
                break;
            }
    }
    std::string out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
    return out;
}

std::string stop_matcher::flush() {
    std::string out;
    if (!stopped_) out.swap(held_);
    held_.clear();
    return out;
}

}  // namespace lf::server
