// leapfrog bench: three modes.
//   --url URL      workload runner against any OpenAI-compatible server (bench/http-bench.h):
//                  prints the runs as a table (stdout) and writes JSON (--json-out) and a
//                  throughput-vs-concurrency plot (--plot out.png).
//   --local -m M   in-process micro-benchmark of a model file (bench/local-bench.h).
//   --report F...  one table (and plot) from the JSON files of earlier --url runs, columns side by
//                  side: how scripts/bench-matrix.sh compares servers.
// Progress goes to stderr; tables or --json output to stdout.
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/http-bench.h"
#include "bench/local-bench.h"
#include "bench/mem-bandwidth.h"
#include "bench/png-plot.h"
#include "cli-util.h"
#include "commands.h"
#include "core/error.h"
#include "core/thread-pool.h"

namespace {

using json = nlohmann::json;

void log_line(const std::string& s) { std::fprintf(stderr, "%s\n", s.c_str()); }
void no_log(const std::string&) {}

std::vector<int> parse_int_list(const std::string& s, const char* flag) {
    std::vector<int> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, ',')) {
        size_t used = 0;
        int v = 0;
        try {
            v = std::stoi(item, &used);
        } catch (...) {
            lf::fail("{} '{}': '{}' is not an integer", flag, s, item);
        }
        if (used != item.size() || v < 1) lf::fail("{} '{}': '{}' is not a positive integer", flag, s, item);
        out.push_back(v);
    }
    if (out.empty()) lf::fail("{} is empty", flag);
    return out;
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream f(path, std::ios::binary);
    if (!f) lf::fail("cannot write '{}'", path);
    f << text;
    if (!f) lf::fail("cannot write '{}'", path);
}

void write_plot(const std::string& path, const std::vector<std::pair<std::string, std::vector<lf::run_record>>>& groups) {
    lf::plot_spec spec;
    spec.title = "Aggregate throughput vs concurrency";
    spec.x_label = "concurrent requests";
    spec.y_label = "generated tok/s";
    for (const auto& [name, runs] : groups) {
        lf::plot_series s;
        s.name = name;
        for (const auto& r : runs) {
            s.x.push_back(r.concurrency);
            s.y.push_back(r.aggregate_tok_s);
        }
        spec.series.push_back(s);
    }
    std::vector<uint8_t> png = lf::render_line_plot_png(spec);
    write_text(path, std::string(png.begin(), png.end()));
}

json read_json_file(const std::string& path) {
    std::ifstream f(path);
    if (!f) lf::fail("cannot open '{}'", path);
    try {
        return json::parse(f);
    } catch (const json::exception& e) {
        lf::fail("{}: not valid JSON: {}", path, e.what());
    }
}

}  // namespace

int lf::tools::cmd_bench(int argc, char** argv) {
    CLI::App app{"Benchmark a server over HTTP (--url), a model in process (--local), or tabulate earlier runs (--report).",
                 "leapfrog bench"};
    // --url
    http_bench_options h;
    std::string concurrency = "1", json_out, plot;
    bool no_ignore_eos = false, json_stdout = false, quiet = false;
    auto* url_opt = app.add_option("--url", h.url, "server base URL, e.g. http://127.0.0.1:8080");
    app.add_option("--concurrency,-C", concurrency, "requests in flight; a list runs each: 1,2,4 (default 1)");
    app.add_option("--prompt-tokens,-P", h.prompt_tokens, "prompt length in tokens (default 128)")->check(CLI::PositiveNumber);
    app.add_option("--max-tokens,-G", h.max_tokens, "tokens generated per request (default 128)")->check(CLI::PositiveNumber);
    app.add_option("--requests,-R", h.requests, "requests per run (default: the concurrency)")->check(CLI::NonNegativeNumber);
    app.add_option("--model", h.model, "model name sent in requests (default: first of /v1/models)");
    app.add_option("--api-key", h.api_key, "bearer token");
    app.add_option("--label", h.label, "name of this server/configuration in tables and plots");
    app.add_flag("--chat", h.chat, "use /v1/chat/completions (default /v1/completions)");
    app.add_flag("--no-ignore-eos", no_ignore_eos, "let requests stop at end of sequence");
    app.add_option("--timeout", h.timeout_s, "seconds to wait for one response (default 1800)")->check(CLI::PositiveNumber);
    app.add_option("--warmup", h.warmup, "short requests before measuring (default 1)")->check(CLI::NonNegativeNumber);
    app.add_option("--json-out", json_out, "write the results as JSON to this file");
    app.add_option("--plot", plot, "draw aggregate tok/s vs concurrency to this PNG");
    // --local
    local_bench_options l;
    bool local = false;
    int bandwidth_mib = 1024;
    auto* local_flag = app.add_flag("--local", local, "benchmark a model file in process");
    app.add_option("-m,--model-file", l.model_path, "target GGUF (--local)");
    app.add_option("--mtp,--mtp-head,--model-draft", l.head_path, "assistant head GGUF (--local: adds the draft step)");
    add_weight_memory_flags(app, l.load);
    app.add_option("-t,--threads", l.n_threads, "threads (--local; default all CPUs)")->check(CLI::PositiveNumber);
    app.add_option("--n-prompt", l.n_prompt, "prefill prompt tokens (--local; default 512)")->check(CLI::PositiveNumber);
    app.add_option("--n-gen", l.n_gen, "decoded tokens (--local; default 128)")->check(CLI::PositiveNumber);
    app.add_option("--depth", l.depth, "context depth of forward and draft timings (--local; default 512)")
        ->check(CLI::PositiveNumber);
    app.add_option("--repeats", l.repeats, "prefill/decode repeats (--local; default 3)")->check(CLI::PositiveNumber);
    app.add_option("--step-repeats", l.step_repeats, "forward/draft-step repeats (--local; default 10)")->check(CLI::PositiveNumber);
    app.add_option("--bandwidth-mib", bandwidth_mib, "streaming-read buffer in MiB (--local; default 1024)")
        ->check(CLI::Range(64, 1 << 20));
    bool bandwidth_only = false;
    app.add_flag("--bandwidth-only", bandwidth_only,
                 "--local: only measure the memory read bandwidth (no model), e.g. to tag other runs with it");
    // --report
    std::vector<std::string> report;
    auto* report_opt = app.add_option("--report", report, "JSON files of earlier --url runs to tabulate together");
    app.add_flag("--json", json_stdout, "print the results as one JSON object on stdout instead of a table");
    app.add_flag("-q,--quiet", quiet, "no progress lines on stderr");
    url_opt->excludes(local_flag);
    url_opt->excludes(report_opt);
    local_flag->excludes(report_opt);
    if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
    auto log = quiet ? no_log : log_line;

    if (bandwidth_only && !local) fail("--bandwidth-only goes with --local");
    if (local && bandwidth_only) {
        thread_pool pool(l.n_threads > 0 ? l.n_threads : default_thread_count());
        const bandwidth_result bw = measure_read_bandwidth(static_cast<size_t>(bandwidth_mib) << 20, 8, pool);
        json j = {{"read_gb_s", bw.read_gb_s}, {"median_gb_s", bw.median_gb_s}, {"threads", pool.size()},
                  {"buffer_bytes", bw.buffer_bytes}, {"passes", bw.passes}};
        if (!json_out.empty()) write_text(json_out, j.dump(2) + "\n");
        if (json_stdout) std::printf("%s\n", j.dump().c_str());
        else std::printf("read bandwidth %.2f GB/s (best of %d passes, median %.2f), %d threads\n", bw.read_gb_s,
                         bw.passes, bw.median_gb_s, pool.size());
        return 0;
    }
    if (local) {
        if (l.model_path.empty()) fail("--local needs -m TARGET.gguf");
        l.bandwidth_bytes = static_cast<size_t>(bandwidth_mib) << 20;
        local_bench_result r = run_local_bench(l, log);
        json j = r.to_json();
        if (!json_out.empty()) write_text(json_out, j.dump(2) + "\n");
        if (json_stdout) std::printf("%s\n", j.dump().c_str());
        else std::printf("%s", format_local_bench(r).c_str());
        return 0;
    }

    if (!report.empty()) {
        std::vector<run_record> all;
        std::vector<std::pair<std::string, std::vector<run_record>>> groups;
        for (const auto& path : report) {
            json j = read_json_file(path);
            if (!j.is_object() || !j.contains("runs") || !j["runs"].is_array())
                fail("{}: expected an object with a 'runs' array (the output of bench --url --json-out)", path);
            std::vector<run_record> runs;
            for (const auto& rj : j["runs"]) {
                try {
                    runs.push_back(run_from_json(rj));
                } catch (const lf::error& e) {
                    fail("{}: {}", path, e.what());
                }
            }
            all.insert(all.end(), runs.begin(), runs.end());
            groups.push_back({j.value("label", path), runs});
        }
        if (!plot.empty()) write_plot(plot, groups);
        if (json_stdout) {
            json out = json::array();
            for (const auto& r : all) out.push_back(to_json(r));
            std::printf("%s\n", out.dump().c_str());
        } else {
            std::printf("%s", format_runs_table(all).c_str());
        }
        return 0;
    }

    if (h.url.empty()) fail("give --url URL (a server), --local -m MODEL.gguf, or --report FILE.json ...");
    h.concurrency = parse_int_list(concurrency, "--concurrency");
    h.ignore_eos = !no_ignore_eos;
    std::vector<run_record> runs = run_http_bench(h, log);
    json doc = {{"tool", "leapfrog bench"},
                {"url", h.url},
                {"label", h.label.empty() ? h.url : h.label},
                {"settings",
                 {{"concurrency", h.concurrency},
                  {"prompt_tokens", h.prompt_tokens},
                  {"max_tokens", h.max_tokens},
                  {"requests", h.requests},
                  {"ignore_eos", h.ignore_eos},
                  {"chat", h.chat}}},
                {"runs", json::array()}};
    for (const auto& r : runs) doc["runs"].push_back(to_json(r));
    if (!json_out.empty()) write_text(json_out, doc.dump(2) + "\n");
    if (!plot.empty()) write_plot(plot, {{h.label.empty() ? "server" : h.label, runs}});
    if (json_stdout) std::printf("%s\n", doc.dump().c_str());
    else std::printf("%s", format_runs_table(runs).c_str());
    int errors = 0;
    for (const auto& r : runs) errors += r.errors;
    if (errors) std::fprintf(stderr, "leapfrog bench: %d request(s) failed\n", errors);
    return errors ? 1 : 0;
}
