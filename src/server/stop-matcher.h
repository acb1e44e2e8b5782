// Stop sequences applied to streamed text. Text goes in as it is decoded; what comes out is the
// text that can be shown now: everything before the first stop string, minus a held-back tail
// that could still turn out to be the start of a stop string. Once a stop string is found the
// matcher is stopped and drops everything from the stop string on.
//
// Invariant: concatenating all push() results and flush() equals the input up to (not including)
// the first occurrence of any stop string, or the whole input when none occurs. Because stop
// strings and input are whole UTF-8 characters, a held-back tail always starts on a character
// boundary.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace lf::server {

class stop_matcher {
public:
    explicit stop_matcher(std::vector<std::string> stops = {});

    std::string push(std::string_view text);
    // End of generation: the held-back tail was not a stop string after all.
    std::string flush();
    bool stopped() const { return stopped_; }
    // The stop string that matched ("" until one does).
    const std::string& matched() const { return matched_; }
    size_t n_held() const { return held_.size(); }

private:
    std::vector<std::string> stops_;
    std::string held_;
    bool stopped_ = false;
    std::string matched_;
};

}  // namespace lf::server
