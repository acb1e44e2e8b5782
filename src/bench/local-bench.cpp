// The in-process micro-benchmark; see local-bench.h. The model is driven directly (batches of
// rows into forward(), one slot), as the engine drives it, so the figures are the engine's
// building blocks without scheduling around them.
#include "bench/local-bench.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "bench/http-bench.h"
#include "bench/mem-bandwidth.h"
#include "core/median.h"
#include "core/error.h"
#include "core/thread-pool.h"
#include "kernels/cpu/matmul.h"
#include "model/gemma4-assistant.h"
#include "model/gemma4.h"

namespace lf {

namespace {

using clock_type = std::chrono::steady_clock;

double ms_since(clock_type::time_point t0) {
    return std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
}


// Layer index of a "blk.N.*" tensor name, or -1.
int layer_of(const std::string& name) {
    if (name.rfind("blk.", 0) != 0) return -1;
    size_t dot = name.find('.', 4);
    if (dot == std::string::npos) return -1;
    try {
        return std::stoi(name.substr(4, dot - 4));
    } catch (...) {
        return -1;
    }
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

int32_t argmax(const float* v, int64_t n) {
    return static_cast<int32_t>(std::max_element(v, v + n) - v);
}

}  // namespace

double decode_read_bytes(const gguf_file& f, const gemma4_hparams& hp) {
    double bytes = 0;
    for (const gguf_tensor& t : f.tensors) {
        const double rows = static_cast<double>(std::max<int64_t>(1, t.n_rows()));
        if (t.name == "per_layer_token_embd.weight") {
            bytes += static_cast<double>(t.n_bytes) / rows;  // one row per token
            continue;
        }
        if (t.name == "token_embd.weight") {
            bytes += static_cast<double>(t.n_bytes) + static_cast<double>(t.n_bytes) / rows;  // LM head + lookup
            continue;
        }
        const int il = layer_of(t.name);
        if (il >= hp.n_layer_kv() && (contains(t.name, ".attn_k.") || contains(t.name, ".attn_v.") ||
                                      contains(t.name, ".attn_k_norm.")))
            continue;
        if (contains(t.name, "_exps.weight") && hp.n_expert > 0) {
            bytes += static_cast<double>(t.n_bytes) * hp.n_expert_used / hp.n_expert;
            continue;
        }
        bytes += static_cast<double>(t.n_bytes);
    }
    return bytes;
}

nlohmann::json local_bench_result::to_json() const {
    nlohmann::json fwd = nlohmann::json::object();
    for (const auto& [n, ms] : forward_ms) fwd[std::to_string(n)] = ms;
    nlohmann::json j = {{"prefill_tok_s", prefill_tok_s},
                        {"decode_tok_s", decode_tok_s},
                        {"forward_ms", fwd},
                        {"bandwidth_bound_tok_s", bandwidth_bound_tok_s},
                        {"fraction_of_bound", bandwidth_bound_tok_s > 0 ? decode_tok_s / bandwidth_bound_tok_s : 0.0},
                        {"read_gb_s", read_gb_s},
                        {"bytes_per_token", bytes_per_token}};
    if (!forward_ratio.empty()) {
        nlohmann::json ratio = nlohmann::json::object();
        for (const auto& [n, x] : forward_ratio) ratio[std::to_string(n)] = x;
        j["forward_cost_ratio"] = ratio;  // median over rounds of (forward of n tokens / forward of 1)
    }
    if (draft_step_ms) {
        j["draft_step_ms"] = *draft_step_ms;
        if (forward_ms.count(1) && forward_ms.at(1) > 0) j["draft_to_target_ratio"] = *draft_step_ms / forward_ms.at(1);
    }
    for (auto it = info.begin(); it != info.end(); ++it) j[it.key()] = it.value();
    return j;
}

local_bench_result run_local_bench(const local_bench_options& opt, void (*log)(const std::string&)) {
    if (opt.n_prompt < 1 || opt.n_gen < 1 || opt.depth < 1 || opt.repeats < 1 || opt.step_repeats < 1)
        fail("bench --local: prompt, generation, depth and repeat counts must be positive");
    auto say = [&](const std::string& s) {
        if (log) log(s);
    };
    const int n_threads = opt.n_threads > 0 ? opt.n_threads : default_thread_count();
    thread_pool pool(n_threads);
    local_bench_result r;

    const double load_before = load_average_1m();
    say(fmt::format("measuring memory read bandwidth ({} MiB buffer, {} threads)", opt.bandwidth_bytes >> 20, n_threads));
    const bandwidth_result bw = measure_read_bandwidth(opt.bandwidth_bytes, 8, pool);

    gemma4_model target(opt.model_path, opt.load);
    std::unique_ptr<gemma4_assistant> head;
    if (!opt.head_path.empty()) head = std::make_unique<gemma4_assistant>(opt.head_path, target, opt.load);
    const gemma4_hparams& hp = target.hparams();
    const int64_t V = hp.n_vocab;
    r.bytes_per_token = decode_read_bytes(target.file(), hp);

    int max_fwd = 1;
    for (int n : opt.forward_sizes) {
        if (n < 1 || n > 256) fail("bench --local: forward size {} is out of range (1..256)", n);
        max_fwd = std::max(max_fwd, n);
    }
    const int n_ctx = std::max(opt.n_prompt + opt.n_gen, opt.depth + max_fwd) + 16;
    const int max_batch = std::max({opt.n_prompt, opt.depth, max_fwd});
    kv_cache kv = target.make_cache(1, n_ctx, max_batch);

    // Prompt tokens: seeded, away from the special ids at the bottom of the vocabulary.
    std::vector<int32_t> prompt(static_cast<size_t>(std::max(opt.n_prompt, opt.depth)));
    uint64_t s = opt.seed * 0x9E3779B97F4A7C15ull + 1;
    for (auto& t : prompt) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        t = static_cast<int32_t>(V > 300 ? 256 + (s >> 33) % static_cast<uint64_t>(V - 256) : (s >> 33) % static_cast<uint64_t>(V));
    }
    prompt[0] = 2;  // <bos>
    forward_output out;
    auto prefill = [&](int n, bool hidden) {
        std::vector<batch_row> b(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i) b[static_cast<size_t>(i)] = {prompt[static_cast<size_t>(i)], i, 0, i == n - 1};
        target.forward(b, kv, out, hidden, pool);
    };

    // Warm-up: page the weights in and size the scratch buffers.
    say("warm-up");
    prefill(std::min(opt.n_prompt, 16), false);

    say(fmt::format("prefill: {} tokens x {}", opt.n_prompt, opt.repeats));
    std::vector<double> t_prefill;
    for (int rep = 0; rep < opt.repeats; ++rep) {
        auto t0 = clock_type::now();
        prefill(opt.n_prompt, false);
        t_prefill.push_back(ms_since(t0));
    }
    r.prefill_tok_s = opt.n_prompt * 1000.0 / median(t_prefill);

    say(fmt::format("decode: {} tokens after {} x {}", opt.n_gen, opt.n_prompt, opt.repeats));
    std::vector<double> t_decode;
    prefill(opt.n_prompt, false);
    const int32_t first = argmax(out.logits.data(), V);
    for (int rep = 0; rep < opt.repeats; ++rep) {
        int32_t tok = first;
        auto t0 = clock_type::now();
        for (int i = 0; i < opt.n_gen; ++i) {
            std::vector<batch_row> b = {{tok, opt.n_prompt + i, 0, true}};
            target.forward(b, kv, out, false, pool);
            tok = argmax(out.logits.data(), V);
        }
        t_decode.push_back(ms_since(t0));
    }
    r.decode_tok_s = opt.n_gen * 1000.0 / median(t_decode);
    // A second probe after the decode: a machine's bandwidth can change level during a run, and
    // the bound is taken at the higher of the two probes that frame the decode, so the fraction
    // of it never flatters the decode.
    say("measuring memory read bandwidth again");
    const bandwidth_result bw_after = measure_read_bandwidth(opt.bandwidth_bytes, 8, pool);
    r.read_gb_s = std::max(bw.read_gb_s, bw_after.read_gb_s);
    r.bandwidth_bound_tok_s = r.bytes_per_token > 0 ? r.read_gb_s * 1e9 / r.bytes_per_token : 0;

    say(fmt::format("forward of {{{}}} tokens at depth {} x {}", fmt::join(opt.forward_sizes, ","), opt.depth, opt.step_repeats));
    prefill(opt.depth, true);
    std::vector<float> h(out.hidden.end() - hp.n_embd, out.hidden.end());  // f32 [n_embd] last hidden row
    const int32_t next = argmax(out.logits.data(), V);
    // The sizes take turns within each round, so a change of machine speed during the run hits
    // every size alike; each size's figure is its median, and the cost ratio to one token is the
    // median of the per-round ratios.
    std::map<int, std::vector<batch_row>> batches;
    std::map<int, std::vector<double>> times;
    for (int n : opt.forward_sizes) {
        std::vector<batch_row>& b = batches[n];
        b.resize(static_cast<size_t>(n));
        for (int i = 0; i < n; ++i)
            b[static_cast<size_t>(i)] = {i == 0 ? next : prompt[static_cast<size_t>(i)], opt.depth + i, 0, true};
        target.forward(b, kv, out, true, pool);  // warm the scratch for this size
    }
    for (int rep = 0; rep < opt.step_repeats; ++rep) {
        for (auto& [n, b] : batches) {
            auto t0 = clock_type::now();
            target.forward(b, kv, out, true, pool);  // writes at depth again: the cache truncates first
            times[n].push_back(ms_since(t0));
        }
    }
    for (auto& [n, t] : times) {
        r.forward_ms[n] = median(t);
        if (!times.count(1)) continue;
        std::vector<double> ratios;
        for (size_t i = 0; i < t.size(); ++i) ratios.push_back(t[i] / times[1][i]);
        r.forward_ratio[n] = median(ratios);
    }

    if (head) {
        say(fmt::format("draft step at depth {} x {}", opt.depth, opt.step_repeats));
        kv.truncate(0, opt.depth);
        draft_output dout;
        std::vector<draft_row> rows = {{next, opt.depth, 0, h.data()}};
        head->step(rows, kv, dout, pool);
        std::vector<double> t;
        for (int rep = 0; rep < opt.step_repeats; ++rep) {
            auto t0 = clock_type::now();
            head->step(rows, kv, dout, pool);
            t.push_back(ms_since(t0));
        }
        r.draft_step_ms = median(t);
    }

    std::string name = target.file().opt_str("general.name").value_or("");
    r.info = {{"model", opt.model_path},
              {"model_name", name},
              {"model_bytes", static_cast<double>(target.file().file_size())},
              {"n_vocab", hp.n_vocab},
              {"n_layer", hp.n_layer},
              {"n_embd", hp.n_embd},
              {"threads", n_threads},
              {"weights", opt.load == file_load::map ? "mapped" : "read into memory (--no-mmap)"},
              // q4_0 matrices packed for the AVX2 kernels at load (0 with --no-repack or another level)
              {"packed_bytes", static_cast<double>(target.packed().bytes() + (head ? head->packed().bytes() : 0))},
              {"hardware_threads", std::thread::hardware_concurrency()},
              {"isa", kernel_isa()},
              {"n_prompt", opt.n_prompt},
              {"n_gen", opt.n_gen},
              {"depth", opt.depth},
              {"repeats", opt.repeats},
              {"step_repeats", opt.step_repeats},
              {"bandwidth_buffer_bytes", static_cast<double>(bw.buffer_bytes)},
              {"read_gb_s_median", bw.median_gb_s},
              {"read_gb_s_before_after", {bw.read_gb_s, bw_after.read_gb_s}}};
    if (head) r.info["head"] = opt.head_path;
    r.info["load_before"] = load_before;
    r.info["load_after"] = load_average_1m();
    return r;
}

std::string format_local_bench(const local_bench_result& r) {
    std::string s;
    auto row = [&](const std::string& k, const std::string& v) { s += fmt::format("| {:<34} | {:>14} |\n", k, v); };
    s += fmt::format("| {:<34} | {:>14} |\n|{:-<36}|{:->16}|\n", "test", "value", "", "");
    row(fmt::format("prefill pp{} (tok/s)", r.info.value("n_prompt", 0)), fmt::format("{:.1f}", r.prefill_tok_s));
    row(fmt::format("decode tg{} (tok/s)", r.info.value("n_gen", 0)), fmt::format("{:.2f}", r.decode_tok_s));
    row("bandwidth bound (tok/s)", fmt::format("{:.2f}", r.bandwidth_bound_tok_s));
    row("decode / bound", fmt::format("{:.1f}%", r.bandwidth_bound_tok_s > 0 ? 100 * r.decode_tok_s / r.bandwidth_bound_tok_s : 0));
    if (r.info.contains("read_gb_s_before_after"))
        row("read bandwidth before/after (GB/s)", fmt::format("{:.1f}/{:.1f}", r.info["read_gb_s_before_after"][0].get<double>(),
                                                              r.info["read_gb_s_before_after"][1].get<double>()));
    else
        row("read bandwidth (GB/s)", fmt::format("{:.2f}", r.read_gb_s));
    row("weight bytes per token (MB)", fmt::format("{:.1f}", r.bytes_per_token / 1e6));
    const double one = r.forward_ms.count(1) ? r.forward_ms.at(1) : 0;
    for (const auto& [n, ms] : r.forward_ms)
        row(fmt::format("forward {} tok @ d{} (ms)", n, r.info.value("depth", 0)),
            r.forward_ratio.count(n) ? fmt::format("{:.2f} ({:.2f}x)", ms, r.forward_ratio.at(n)) : fmt::format("{:.2f}", ms));
    if (r.info.contains("load_before") && r.info["load_before"].get<double>() >= 0)
        row("load average (before/after)", fmt::format("{:.1f}/{:.1f}", r.info["load_before"].get<double>(),
                                                       r.info.value("load_after", -1.0)));
    if (r.draft_step_ms)
        row("draft step (ms)", one > 0 ? fmt::format("{:.3f} ({:.2f}x)", *r.draft_step_ms, *r.draft_step_ms / one)
                                       : fmt::format("{:.3f}", *r.draft_step_ms));
    return s;
}

}  // namespace lf
