// The HTTP workload runner; see http-bench.h. One client thread per stream in flight, each with
// its own connection; every figure is computed from the client's own clock except acceptance,
// which only the server knows.
#include "bench/http-bench.h"

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "core/error.h"
#include "core/median.h"

namespace lf {

namespace {

using json = nlohmann::json;
using clock_type = std::chrono::steady_clock;

double ms_between(clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

double mean_of(const std::vector<double>& v) {
    if (v.empty()) return 0;
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
}


uint64_t splitmix64(uint64_t& s) {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

const char* const k_words[] = {
    "the",     "river",   "carried", "small",   "stones",  "past",    "an",      "old",     "mill",    "where",
    "children", "learned", "to",     "count",   "boats",   "before",  "winter",  "came",    "and",     "every",
    "evening", "lanterns", "glowed", "along",   "quiet",   "streets", "merchants", "sold",  "bread",   "apples",
    "copper",  "kettles", "while",   "travelers", "asked", "about",   "roads",   "north",   "over",    "mountains",
    "a",       "teacher", "wrote",   "numbers", "on",      "slate",   "boards",  "because", "paper",   "was",
    "rare",    "music",   "drifted", "from",    "open",    "windows", "into",    "gardens", "full",    "of",
    "bees",    "clocks",  "struck",  "noon",
};
constexpr int k_n_words = static_cast<int>(sizeof(k_words) / sizeof(k_words[0]));

// Base URL without a trailing "/" or "/v1" (clients often pass either form).
std::string base_url(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v1") == 0) url.resize(url.size() - 3);
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) url = "http://" + url;
    return url;
}

std::unique_ptr<httplib::Client> make_client(const http_bench_options& opt) {
    auto cli = std::make_unique<httplib::Client>(base_url(opt.url));
    if (!cli->is_valid()) fail("--url '{}' is not a usable http(s) URL", opt.url);
    cli->set_connection_timeout(10, 0);
    const auto t = static_cast<time_t>(opt.timeout_s);
    cli->set_read_timeout(t, 0);
    cli->set_write_timeout(60, 0);
    if (!opt.api_key.empty()) cli->set_bearer_token_auth(opt.api_key.c_str());
    return cli;
}

// How the server counts tokens: llama.cpp / leapfrog take {"content"}, vLLM {"prompt", "model"}.
class token_counter {
public:
    token_counter(httplib::Client& cli, std::string model) : cli_(cli), model_(std::move(model)) {
        // An empty text shows whether the count includes a <bos> the completion would add anyway.
        if (auto n = count("")) specials_ = *n;
        else style_ = style::none;
    }
    bool available() const { return style_ != style::none; }
    int specials() const { return specials_; }

    std::optional<int> count(const std::string& text) {
        if (style_ == style::none) return std::nullopt;
        for (int attempt = 0; attempt < 2; ++attempt) {
            json body = style_ == style::vllm ? json{{"model", model_}, {"prompt", text}} : json{{"content", text}};
            auto res = cli_.Post("/tokenize", body.dump(), "application/json");
            if (res && res->status == 200) {
                try {
                    json j = json::parse(res->body);
                    std::optional<int> n;
                    if (j.contains("tokens") && j["tokens"].is_array()) n = static_cast<int>(j["tokens"].size());
                    else if (j.contains("count") && j["count"].is_number_integer()) n = j["count"].get<int>();
                    if (n) {
                        if (style_ == style::unknown_llama) style_ = style::llama;
                        return n;
                    }
                } catch (const json::exception&) {
                }
            }
            if (!res) break;  // transport failure: no point switching styles
            if (style_ == style::unknown_llama) {
                style_ = style::vllm;
                continue;
            }
            break;
        }
        if (style_ == style::vllm && specials_ < 0) style_ = style::none;
        if (style_ == style::unknown_llama) style_ = style::none;
        return std::nullopt;
    }

private:
    enum class style { unknown_llama, llama, vllm, none } style_ = style::unknown_llama;
    httplib::Client& cli_;
    std::string model_;
    int specials_ = -1;
};

// A prompt of about `target` tokens: the largest word count whose text the server counts at or
// below target, found by doubling then bisection; ~4 characters per token without /tokenize.
std::string build_prompt(token_counter& tc, uint64_t seed, int target) {
    if (!tc.available()) return filler_text(seed, std::max(1, target * 4 / 5));  // words average ~5 chars with the space
    // A failed count stops the search where it is (as if the text were too long).
    auto n_of = [&](int w) { return tc.count(filler_text(seed, w)).value_or(INT32_MAX); };
    int lo = 1, hi = std::max(2, target);
    while (n_of(hi) <= target && hi < (1 << 22)) {
        lo = hi;
        hi *= 2;
    }
    while (hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        if (n_of(mid) <= target) lo = mid;
        else hi = mid;
    }
    // Words can be several tokens; top up with punctuation, about one token each.
    std::string text = filler_text(seed, lo);
    for (int i = 0; i < 16; ++i) {
        std::optional<int> n = tc.count(text);
        if (!n || *n >= target) break;
        std::optional<int> m = tc.count(text + ",");
        if (!m || *m > target) break;
        text += ",";
    }
    return text;
}

std::optional<spec_counters> read_metrics(httplib::Client& cli) {
    auto res = cli.Get("/metrics");
    if (!res || res->status != 200) return std::nullopt;
    return find_spec_counters(parse_prometheus(res->body));
}

std::string first_model_id(httplib::Client& cli) {
    auto res = cli.Get("/v1/models");
    if (!res) fail("cannot reach the server: GET /v1/models failed ({})", httplib::to_string(res.error()));
    if (res->status != 200) return "default";
    try {
        json j = json::parse(res->body);
        if (j.contains("data") && j["data"].is_array() && !j["data"].empty() && j["data"][0].contains("id"))
            return j["data"][0]["id"].get<std::string>();
    } catch (const json::exception&) {
    }
    return "default";
}

int json_int_or(const json& j, const char* key, int fallback) {
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<int>() : fallback;
}

request_record run_request(httplib::Client& cli, const http_bench_options& opt, const std::string& model,
                           const std::string& prompt, int max_tokens, int index) {
    request_record r;
    r.index = index;
    json body = {{"model", model},
                 {"max_tokens", max_tokens},
                 {"temperature", 0},
                 {"stream", true},
                 {"stream_options", {{"include_usage", true}}}};
    if (opt.ignore_eos) body["ignore_eos"] = true;
    if (opt.chat) body["messages"] = json::array({{{"role", "user"}, {"content", prompt}}});
    else body["prompt"] = prompt;

    httplib::Request req;
    req.method = "POST";
    req.path = opt.chat ? "/v1/chat/completions" : "/v1/completions";
    req.set_header("Content-Type", "application/json");
    req.set_header("Accept", "text/event-stream");
    if (!opt.api_key.empty()) req.set_header("Authorization", "Bearer " + opt.api_key);
    req.body = body.dump();

    sse_parser parser;
    std::string raw;  // kept for error messages
    std::optional<clock_type::time_point> t_first, t_last;
    int n_chunks = 0;
    std::optional<int> usage_prompt, usage_completion;
    auto on_event = [&](const std::string& data) {
        if (data == "[DONE]") return;
        json j;
        try {
            j = json::parse(data);
        } catch (const json::exception&) {
            return;
        }
        if (j.contains("error")) {
            r.error = j["error"].is_object() ? j["error"].value("message", j["error"].dump()) : j["error"].dump();
            return;
        }
        if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
            const json& c = j["choices"][0];
            // A completion chunk is one step of generation even when its text is empty (bytes of
            // an unfinished UTF-8 character); a chat chunk counts once it carries content, since
            // servers open chat streams with a role-only delta.
            bool token_chunk = false;
            if (opt.chat) {
                if (c.contains("delta") && c["delta"].is_object()) {
                    const json& d = c["delta"];
                    for (const char* k : {"content", "reasoning_content", "reasoning"})
                        if (d.contains(k) && d[k].is_string() && !d[k].get<std::string>().empty()) token_chunk = true;
                }
            } else if (c.contains("text") && c["text"].is_string()) {
                token_chunk = !c["text"].get<std::string>().empty() || !c.contains("finish_reason") || c["finish_reason"].is_null();
            }
            if (token_chunk) {
                auto now = clock_type::now();
                if (!t_first) t_first = now;
                t_last = now;
                ++n_chunks;
            }
            if (c.contains("finish_reason") && c["finish_reason"].is_string()) r.finish_reason = c["finish_reason"];
        }
        if (j.contains("usage") && j["usage"].is_object()) {
            usage_prompt = json_int_or(j["usage"], "prompt_tokens", -1);
            usage_completion = json_int_or(j["usage"], "completion_tokens", -1);
        }
        if (j.contains("timings") && j["timings"].is_object()) r.timings = j["timings"];
    };
    req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
        if (raw.size() < 4096) raw.append(data, std::min<size_t>(len, 4096 - raw.size()));
        parser.feed(std::string_view(data, len), on_event);
        return true;
    };

    const auto t0 = clock_type::now();
    httplib::Response res;
    httplib::Error err = httplib::Error::Success;
    const bool sent = cli.send(req, res, err);
    const auto t_end = clock_type::now();
    if (!sent) {
        r.error = fmt::format("request failed: {}", httplib::to_string(err));
        return r;
    }
    if (res.status != 200) {
        r.error = fmt::format("HTTP {}: {}", res.status, raw.substr(0, 300));
        return r;
    }
    if (!r.error.empty()) return r;

    r.total_ms = ms_between(t0, t_end);
    r.ttft_ms = t_first ? ms_between(t0, *t_first) : r.total_ms;
    r.completion_tokens = usage_completion && *usage_completion >= 0 ? *usage_completion
                          : r.timings.is_object()                     ? json_int_or(r.timings, "predicted_n", n_chunks)
                                                                      : n_chunks;
    r.prompt_tokens = usage_prompt && *usage_prompt >= 0 ? *usage_prompt
                      : r.timings.is_object()            ? json_int_or(r.timings, "prompt_n", 0)
                                                         : 0;
    if (r.timings.is_object() && r.timings.contains("draft_n") && r.timings["draft_n"].is_number()) {
        r.draft_n = r.timings["draft_n"].get<int>();
        r.draft_n_accepted = json_int_or(r.timings, "draft_n_accepted", 0);
    }
    r.prefill_tok_s = r.ttft_ms > 0 ? r.prompt_tokens * 1000.0 / r.ttft_ms : 0;
    const double decode_ms = t_first && t_last ? ms_between(*t_first, *t_last) : 0;
    r.decode_tok_s = decode_ms > 0 && r.completion_tokens > 1 ? (r.completion_tokens - 1) * 1000.0 / decode_ms : 0;
    r.ok = true;
    return r;
}

run_record run_one(const http_bench_options& opt, const std::string& model, const std::vector<std::string>& prompts,
                   int concurrency) {
    run_record run;
    run.concurrency = concurrency;
    run.requests = static_cast<int>(prompts.size());
    run.label = opt.label.empty() ? fmt::format("c={}", concurrency)
                : opt.concurrency.size() > 1 ? fmt::format("{} c={}", opt.label, concurrency)
                                             : opt.label;
    auto probe = make_client(opt);
    std::optional<spec_counters> before = read_metrics(*probe);
    run.load_before = load_average_1m();

    std::vector<request_record> records(prompts.size());
    std::atomic<size_t> next{0};
    std::vector<clock_type::time_point> ends(prompts.size());
    const auto t0 = clock_type::now();
    std::vector<std::thread> workers;
    for (int w = 0; w < concurrency; ++w) {
        workers.emplace_back([&] {
            auto cli = make_client(opt);
            for (size_t i = next++; i < prompts.size(); i = next++) {
                records[i] = run_request(*cli, opt, model, prompts[i], opt.max_tokens, static_cast<int>(i));
                ends[i] = clock_type::now();
            }
        });
    }
    for (auto& t : workers) t.join();
    const auto t_last = *std::max_element(ends.begin(), ends.end());
    run.wall_s = ms_between(t0, t_last) / 1000.0;

    run.load_after = load_average_1m();
    std::optional<spec_counters> after = read_metrics(*probe);
    std::vector<double> decode, ttft, prefill;
    bool all_timings = true;
    for (const auto& r : records) {
        if (!r.ok) {
            ++run.errors;
            continue;
        }
        run.total_prompt_tokens += r.prompt_tokens;
        run.total_completion_tokens += r.completion_tokens;
        if (r.decode_tok_s > 0) decode.push_back(r.decode_tok_s);
        ttft.push_back(r.ttft_ms);
        prefill.push_back(r.prefill_tok_s);
        if (r.draft_n) {
            run.draft_n += *r.draft_n;
            run.draft_n_accepted += r.draft_n_accepted.value_or(0);
        } else {
            all_timings = false;
        }
    }
    run.aggregate_tok_s = run.wall_s > 0 ? static_cast<double>(run.total_completion_tokens) / run.wall_s : 0;
    run.single_stream_decode_tok_s = mean_of(decode);
    run.mean_ttft_ms = mean_of(ttft);
    run.median_ttft_ms = median(ttft);
    run.mean_prefill_tok_s = mean_of(prefill);
    if (all_timings && run.errors < run.requests) {
        run.acceptance_source = "timings";
    } else if (before && after) {
        run.draft_n = static_cast<int64_t>(std::llround(after->draft_tokens - before->draft_tokens));
        run.draft_n_accepted = static_cast<int64_t>(std::llround(after->accepted_tokens - before->accepted_tokens));
        run.acceptance_source = "metrics";
    }
    if (run.draft_n > 0) run.acceptance = static_cast<double>(run.draft_n_accepted) / static_cast<double>(run.draft_n);
    run.detail = std::move(records);
    return run;
}

}  // namespace

void sse_parser::feed(std::string_view bytes, const std::function<void(const std::string&)>& on_event) {
    buf_.append(bytes);
    for (;;) {
        // An event ends at a blank line; servers use "\n\n" or "\r\n\r\n".
        size_t end = buf_.find("\n\n");
        size_t crlf = buf_.find("\r\n\r\n");
        size_t sep_len = 2;
        if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) {
            end = crlf;
            sep_len = 4;
        }
        if (end == std::string::npos) return;
        std::string event = buf_.substr(0, end);
        buf_.erase(0, end + sep_len);
        std::string data;
        bool has_data = false;
        size_t pos = 0;
        while (pos <= event.size()) {
            size_t nl = event.find('\n', pos);
            std::string line = event.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (line.rfind("data:", 0) == 0) {
                std::string v = line.substr(5);
                if (!v.empty() && v[0] == ' ') v.erase(0, 1);
                if (has_data) data += '\n';
                data += v;
                has_data = true;
            }
            if (nl == std::string::npos) break;
            pos = nl + 1;
        }
        if (has_data) on_event(data);
    }
}

std::map<std::string, double> parse_prometheus(std::string_view text) {
    std::map<std::string, double> out;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        if (line.empty() || line[0] == '#') continue;
        size_t name_end = line.find_first_of("{ \t");
        if (name_end == std::string_view::npos || name_end == 0) continue;
        std::string name(line.substr(0, name_end));
        size_t value_pos = name_end;
        if (line[name_end] == '{') {
            size_t close = line.find('}', name_end);
            if (close == std::string_view::npos) continue;
            value_pos = close + 1;
        }
        std::string rest(line.substr(value_pos));
        size_t b = rest.find_first_not_of(" \t");
        if (b == std::string::npos) continue;
        try {
            out[name] += std::stod(rest.substr(b));
        } catch (...) {
        }
    }
    return out;
}

std::optional<spec_counters> find_spec_counters(const std::map<std::string, double>& metrics) {
    std::optional<double> drafted, accepted;
    auto ends_with = [](const std::string& s, std::string_view suf) {
        return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
    };
    for (const auto& [name, v] : metrics) {
        if (ends_with(name, "spec_decode_num_draft_tokens_total")) drafted = drafted.value_or(0) + v;
        if (ends_with(name, "spec_decode_num_accepted_tokens_total")) accepted = accepted.value_or(0) + v;
    }
    if (!drafted || !accepted) return std::nullopt;
    return spec_counters{*drafted, *accepted};
}

double load_average_1m() {
    std::FILE* f = std::fopen("/proc/loadavg", "r");
    if (!f) return -1;
    double v = -1;
    if (std::fscanf(f, "%lf", &v) != 1) v = -1;
    std::fclose(f);
    return v;
}

std::string filler_text(uint64_t seed, int n_words) {
    std::string s;
    uint64_t st = seed * 0xD1B54A32D192ED03ull + 0x1234567;
    for (int i = 0; i < n_words; ++i) {
        if (i) s += ' ';
        s += k_words[splitmix64(st) % k_n_words];
    }
    return s;
}

json to_json(const request_record& r) {
    json j = {{"index", r.index},
              {"ok", r.ok},
              {"ttft_ms", r.ttft_ms},
              {"total_ms", r.total_ms},
              {"prompt_tokens", r.prompt_tokens},
              {"completion_tokens", r.completion_tokens},
              {"prefill_tok_s", r.prefill_tok_s},
              {"decode_tok_s", r.decode_tok_s},
              {"finish_reason", r.finish_reason}};
    if (!r.error.empty()) j["error"] = r.error;
    if (r.draft_n) {
        j["draft_n"] = *r.draft_n;
        j["draft_n_accepted"] = r.draft_n_accepted.value_or(0);
    }
    if (r.timings.is_object()) j["timings"] = r.timings;
    return j;
}

json to_json(const run_record& r) {
    json detail = json::array();
    for (const auto& q : r.detail) detail.push_back(to_json(q));
    return {{"label", r.label},
            {"concurrency", r.concurrency},
            {"requests", r.requests},
            {"errors", r.errors},
            {"wall_s", r.wall_s},
            {"total_prompt_tokens", r.total_prompt_tokens},
            {"total_completion_tokens", r.total_completion_tokens},
            {"aggregate_tok_s", r.aggregate_tok_s},
            {"single_stream_decode_tok_s", r.single_stream_decode_tok_s},
            {"mean_ttft_ms", r.mean_ttft_ms},
            {"median_ttft_ms", r.median_ttft_ms},
            {"mean_prefill_tok_s", r.mean_prefill_tok_s},
            {"acceptance", r.acceptance ? json(*r.acceptance) : json(nullptr)},
            {"draft_n", r.draft_n},
            {"draft_n_accepted", r.draft_n_accepted},
            {"acceptance_source", r.acceptance_source},
            {"load_before", r.load_before},
            {"load_after", r.load_after},
            {"request_detail", detail}};
}

run_record run_from_json(const json& j) {
    if (!j.is_object()) fail("a run must be a JSON object");
    auto num = [&](const char* k) {
        if (!j.contains(k) || !j[k].is_number()) fail("run field '{}' is missing or not a number", k);
        return j[k].get<double>();
    };
    run_record r;
    if (!j.contains("label") || !j["label"].is_string()) fail("run field 'label' is missing or not a string");
    r.label = j["label"];
    r.concurrency = static_cast<int>(num("concurrency"));
    r.requests = static_cast<int>(num("requests"));
    r.errors = j.contains("errors") && j["errors"].is_number() ? j["errors"].get<int>() : 0;
    r.wall_s = num("wall_s");
    r.total_completion_tokens = static_cast<int64_t>(num("total_completion_tokens"));
    r.total_prompt_tokens = j.contains("total_prompt_tokens") && j["total_prompt_tokens"].is_number() ? j["total_prompt_tokens"].get<int64_t>() : 0;
    r.aggregate_tok_s = num("aggregate_tok_s");
    r.single_stream_decode_tok_s = num("single_stream_decode_tok_s");
    r.mean_ttft_ms = j.value("mean_ttft_ms", 0.0);
    r.median_ttft_ms = j.value("median_ttft_ms", 0.0);
    r.mean_prefill_tok_s = j.value("mean_prefill_tok_s", 0.0);
    if (j.contains("acceptance") && j["acceptance"].is_number()) r.acceptance = j["acceptance"].get<double>();
    r.draft_n = j.value("draft_n", int64_t{0});
    r.draft_n_accepted = j.value("draft_n_accepted", int64_t{0});
    r.acceptance_source = j.value("acceptance_source", std::string());
    r.load_before = j.value("load_before", -1.0);
    r.load_after = j.value("load_after", -1.0);
    return r;
}

std::vector<run_record> run_http_bench(const http_bench_options& opt, void (*log)(const std::string&)) {
    auto say = [&](const std::string& s) {
        if (log) log(s);
    };
    if (opt.concurrency.empty()) fail("--concurrency needs at least one value");
    for (int c : opt.concurrency)
        if (c < 1 || c > 1024) fail("--concurrency {} is out of range (1..1024)", c);
    if (opt.prompt_tokens < 1) fail("--prompt-tokens must be at least 1");
    if (opt.max_tokens < 1) fail("--max-tokens must be at least 1");
    if (opt.requests < 0) fail("--requests must not be negative");

    auto cli = make_client(opt);
    const std::string model = opt.model.empty() ? first_model_id(*cli) : opt.model;
    token_counter tc(*cli, model);
    // The completion adds <bos>; when /tokenize counts without it, the text gets one token less.
    const int text_target = std::max(1, opt.prompt_tokens - 1 + std::max(0, tc.specials()));
    say(fmt::format("server {} model '{}', prompts sized {}", base_url(opt.url), model,
                    tc.available() ? "with /tokenize" : "by text length (no /tokenize)"));

    for (int w = 0; w < opt.warmup; ++w) {
        request_record r = run_request(*cli, opt, model, filler_text(opt.seed + 999983 + static_cast<uint64_t>(w), 8), 4, -1);
        if (!r.ok) fail("warm-up request failed: {}", r.error);
    }

    std::vector<run_record> runs;
    uint64_t prompt_seed = opt.seed * 1000003;
    for (int c : opt.concurrency) {
        const int n_req = opt.requests > 0 ? opt.requests : c;
        std::vector<std::string> prompts;
        for (int i = 0; i < n_req; ++i) prompts.push_back(build_prompt(tc, prompt_seed++, text_target));
        say(fmt::format("run: concurrency {}, {} requests, {} prompt tokens, {} max tokens", c, n_req, opt.prompt_tokens,
                        opt.max_tokens));
        runs.push_back(run_one(opt, model, prompts, c));
        const run_record& r = runs.back();
        say(fmt::format("  {:.1f} tok/s aggregate, {:.2f} s wall, {} errors", r.aggregate_tok_s, r.wall_s, r.errors));
        for (const auto& q : r.detail)
            if (!q.ok) say(fmt::format("  request {} failed: {}", q.index, q.error));
    }
    return runs;
}

std::string format_runs_table(const std::vector<run_record>& runs) {
    std::vector<std::string> head = {""};
    for (const auto& r : runs) head.push_back(r.label);
    std::vector<std::vector<std::string>> rows;
    auto add = [&](const std::string& name, const std::function<std::string(const run_record&)>& f) {
        std::vector<std::string> row = {name};
        for (const auto& r : runs) row.push_back(f(r));
        rows.push_back(row);
    };
    add("aggregate tok/s", [](const run_record& r) { return fmt::format("{:.1f}", r.aggregate_tok_s); });
    add("single-stream decode tok/s", [](const run_record& r) { return fmt::format("{:.1f}", r.single_stream_decode_tok_s); });
    add("acceptance", [](const run_record& r) {
        return r.acceptance ? fmt::format("{:.3f} ({}/{})", *r.acceptance, r.draft_n_accepted, r.draft_n) : std::string("-");
    });
    add("wall time (s)", [](const run_record& r) { return fmt::format("{:.2f}", r.wall_s); });
    add("mean TTFT (ms)", [](const run_record& r) { return fmt::format("{:.0f}", r.mean_ttft_ms); });
    add("prefill tok/s (per request)", [](const run_record& r) { return fmt::format("{:.1f}", r.mean_prefill_tok_s); });
    add("load average (before/after)", [](const run_record& r) {
        return r.load_before < 0 ? std::string("-") : fmt::format("{:.1f}/{:.1f}", r.load_before, r.load_after);
    });
    add("requests x tokens", [](const run_record& r) {
        return fmt::format("{} x {}{}", r.requests, r.requests ? r.total_completion_tokens / std::max(1, r.requests - r.errors) : 0,
                           r.errors ? fmt::format(" ({} failed)", r.errors) : std::string());
    });
    std::vector<size_t> width(head.size(), 0);
    for (size_t c = 0; c < head.size(); ++c) {
        width[c] = head[c].size();
        for (const auto& row : rows) width[c] = std::max(width[c], row[c].size());
    }
    std::string s;
    auto line = [&](const std::vector<std::string>& cells) {
        s += "|";
        for (size_t c = 0; c < cells.size(); ++c)
            s += c == 0 ? fmt::format(" {:<{}} |", cells[c], width[c]) : fmt::format(" {:>{}} |", cells[c], width[c]);
        s += "\n";
    };
    line(head);
    s += "|";
    for (size_t c = 0; c < head.size(); ++c) s += std::string(width[c] + 1, '-') + (c == 0 ? "-|" : ":|");
    s += "\n";
    for (const auto& row : rows) line(row);
    return s;
}

}  // namespace lf
