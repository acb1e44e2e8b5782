// usage, timings and ids shared by both response kinds (see response-format.h).
#include "server/response-format.h"

#include <chrono>
#include <random>

namespace lf::server {

using json = nlohmann::json;

json usage_json(const gen_stats& st) {
    return {{"prompt_tokens", st.n_prompt},
            {"completion_tokens", st.n_gen},
            {"total_tokens", st.n_prompt + st.n_gen}};
}

json timings_json(const gen_stats& st) {
    auto per_second = [](int n, double ms) { return ms > 0 ? n * 1000.0 / ms : 0.0; };
    auto per_token_ms = [](int n, double ms) { return n > 0 ? ms / n : 0.0; };
    return {{"prompt_n", st.n_prompt},
            {"prompt_ms", st.t_prompt_ms},
            {"prompt_per_token_ms", per_token_ms(st.n_prompt, st.t_prompt_ms)},
            {"prompt_per_second", per_second(st.n_prompt, st.t_prompt_ms)},
            {"predicted_n", st.n_gen},
            {"predicted_ms", st.t_gen_ms},
            {"predicted_per_token_ms", per_token_ms(st.n_gen, st.t_gen_ms)},
            {"predicted_per_second", per_second(st.n_gen, st.t_gen_ms)},
            {"draft_n", st.n_drafted},
            {"draft_n_accepted", st.n_accepted}};
}

std::string random_id(const std::string& prefix, int n_chars) {
    static const char k_chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static thread_local std::mt19937_64 rng(std::random_device{}());
    std::string id = prefix;
    for (int i = 0; i < n_chars; ++i) id += k_chars[rng() % (sizeof k_chars - 1)];
    return id;
}

}  // namespace lf::server
