// bench_matmul: weight-streaming rate of lf::matmul, the quantity that bounds decode speed.
//
//   bench_matmul [--type q4_0] [--n-in 4096] [--n-out 4096] [--rows 1,2,4,8] [-t THREADS]
//                [--isa all|scalar|avx2|avx512|neon] [--mib 512] [--reps 30] [--pages huge|small]
//                [--layout gguf|q4_0_x8|q8_0_x8] [-o OUT.json]
//
// Two settings per (level, rows):
//   cold: cycles through enough distinct copies of the matrix (--mib in total) that every call
//         streams its weights from DRAM, as a decode step does across all layers;
//   hot:  one matrix, resident in the last-level cache when it fits.
// The weights sit on 2 MiB pages where the kernel gives them (as with `--no-mmap`), or with
// --pages small on 4 KiB pages (as a mapped model file on kernels without file huge pages).
// --layout q4_0_x8 / q8_0_x8 packs q4_0 / q8_0 rows as the model loader does for the AVX2 level
// (q4-x8.h, q8-x8.h); only the avx2 and scalar levels read those layouts.
// Reported: median and fastest seconds per call (on a shared machine the fastest is the better
// estimate of the kernel), GB/s of weight bytes (1e9 B/s) at the median, and the cost of n rows
// relative to one row (the number speculation cares about: near 1.0 means verifying k drafts is
// almost free). Prints a table and writes JSON (stdout or -o).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/huge-buffer.h"
#include "core/median.h"
#include "core/thread-pool.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/q4-x8.h"
#include "kernels/cpu/q8-x8.h"
#include "quant/quant.h"

namespace {

struct options {
    lf::dtype type = lf::dtype::q4_0;
    int64_t n_in = 4096, n_out = 4096;
    std::vector<int64_t> rows = {1, 2, 4, 8};
    int threads = lf::default_thread_count();
    std::string isa = "all";
    int64_t total_mib = 512;
    int reps = 30;
    std::string out_path;
    bool huge_pages = true;
    lf::weight_layout layout = lf::weight_layout::gguf;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "bench_matmul: %s\n", why);
    std::exit(2);
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) usage(("missing value for " + a).c_str());
            return argv[++i];
        };
        if (a == "--type") {
            auto t = lf::dtype_from_name(next());
            if (!t) usage("unknown --type");
            o.type = *t;
        } else if (a == "--n-in") o.n_in = std::atoll(next().c_str());
        else if (a == "--n-out") o.n_out = std::atoll(next().c_str());
        else if (a == "-t" || a == "--threads") o.threads = std::atoi(next().c_str());
        else if (a == "--isa") o.isa = next();
        else if (a == "--mib") o.total_mib = std::atoll(next().c_str());
        else if (a == "--reps") o.reps = std::atoi(next().c_str());
        else if (a == "-o") o.out_path = next();
        else if (a == "--pages") {
            const std::string v = next();
            if (v != "huge" && v != "small") usage("--pages takes huge or small");
            o.huge_pages = v == "huge";
        }
        else if (a == "--layout") {
            const std::string v = next();
            if (v != "gguf" && v != "q4_0_x8" && v != "q8_0_x8") usage("--layout takes gguf, q4_0_x8 or q8_0_x8");
            o.layout = v == "gguf" ? lf::weight_layout::gguf
                       : v == "q4_0_x8" ? lf::weight_layout::q4_0_x8 : lf::weight_layout::q8_0_x8;
        }
        else if (a == "--rows") {
            o.rows.clear();
            std::string s = next();
            for (size_t p = 0; p < s.size();) {
                size_t q = s.find(',', p);
                if (q == std::string::npos) q = s.size();
                o.rows.push_back(std::atoll(s.substr(p, q - p).c_str()));
                p = q + 1;
            }
        } else usage(("unknown flag " + a).c_str());
    }
    if (o.n_in <= 0 || o.n_out <= 0 || o.n_in % lf::traits(o.type).block_elems) usage("bad --n-in/--n-out");
    if (o.threads < 1 || o.reps < 1 || o.rows.empty()) usage("bad -t/--reps/--rows");
    for (int64_t r : o.rows)
        if (r < 1) usage("bad --rows");
    if (o.layout == lf::weight_layout::q4_0_x8 &&
        !lf::q4_0_x8_packable(lf::weight_view{o.type, nullptr, o.n_in, o.n_out}))
        usage("--layout q4_0_x8 needs --type q4_0 and --n-in a multiple of 256");
    if (o.layout == lf::weight_layout::q8_0_x8 &&
        !lf::q8_0_x8_packable(lf::weight_view{o.type, nullptr, o.n_in, o.n_out}))
        usage("--layout q8_0_x8 needs --type q8_0 and --n-in a multiple of 256");
    return o;
}


}  // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);
    const size_t matrix_bytes = lf::row_bytes(opt.type, opt.n_in) * static_cast<size_t>(opt.n_out);
    const size_t n_copies = std::max<size_t>(1, (static_cast<size_t>(opt.total_mib) << 20) / matrix_bytes);

    // Random weights, quantized once and copied (the kernels' speed does not depend on values).
    std::mt19937 rng(1);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    lf::huge_buffer huge(opt.huge_pages ? matrix_bytes * n_copies : 0);
    std::vector<uint8_t> small(opt.huge_pages ? 0 : matrix_bytes * n_copies);
    uint8_t* const weights = opt.huge_pages ? huge.data() : small.data();  // type [n_copies * n_out, n_in]
    {
        std::vector<float> row(opt.n_in);
        const size_t rb = lf::row_bytes(opt.type, opt.n_in);
        for (int64_t o = 0; o < opt.n_out; ++o) {
            for (auto& v : row) v = dist(rng);
            lf::quantize_row(opt.type, row.data(), weights + o * rb, opt.n_in);
        }
        if (opt.layout != lf::weight_layout::gguf) {
            const std::vector<uint8_t> plain(weights, weights + matrix_bytes);
            const lf::weight_view w{opt.type, plain.data(), opt.n_in, opt.n_out};
            if (opt.layout == lf::weight_layout::q4_0_x8) lf::pack_q4_0_x8(w, weights);
            else lf::pack_q8_0_x8(w, weights);
        }
        for (size_t c = 1; c < n_copies; ++c) std::memcpy(weights + c * matrix_bytes, weights, matrix_bytes);
    }
    const int64_t max_rows = *std::max_element(opt.rows.begin(), opt.rows.end());
    std::vector<float> x(static_cast<size_t>(max_rows * opt.n_in)), y(static_cast<size_t>(max_rows * opt.n_out));
    for (auto& v : x) v = dist(rng);

    lf::thread_pool pool(opt.threads);
    std::vector<lf::cpu_isa> levels;
    for (lf::cpu_isa isa : {lf::cpu_isa::scalar, lf::cpu_isa::avx2, lf::cpu_isa::avx512, lf::cpu_isa::neon})
        if (lf::isa_supported(isa) && (opt.isa == "all" || opt.isa == lf::isa_name(isa)) &&
            (opt.layout == lf::weight_layout::gguf || isa == lf::cpu_isa::avx2 || isa == lf::cpu_isa::scalar))
            levels.push_back(isa);
    if (levels.empty()) usage("no requested level is supported here");

    std::string json = "{\"type\": \"" + std::string(lf::traits(opt.type).name) + "\", \"n_in\": " +
                       std::to_string(opt.n_in) + ", \"n_out\": " + std::to_string(opt.n_out) +
                       ", \"threads\": " + std::to_string(opt.threads) + ", \"matrix_bytes\": " +
                       std::to_string(matrix_bytes) + ", \"cold_copies\": " + std::to_string(n_copies) +
                       ", \"pages\": \"" + (opt.huge_pages ? "huge" : "small") + "\", \"results\": [";
    std::printf("%s %lldx%lld, %.2f MiB per matrix, %zu copies for cold runs, %d threads, %s pages\n",
                std::string(lf::traits(opt.type).name).c_str(), (long long)opt.n_out, (long long)opt.n_in,
                matrix_bytes / 1048576.0, n_copies, opt.threads, opt.huge_pages ? "huge" : "small");
    std::printf("%-7s %-5s %5s %12s %12s %9s %9s\n", "level", "mode", "rows", "us/call", "us/call min", "GB/s", "vs 1 row");
    bool first = true;
    for (lf::cpu_isa isa : levels) {
        for (const bool cold : {true, false}) {
            double t_one = 0;
            for (int64_t n_rows : opt.rows) {
                // Scalar is slow; fewer reps keep the run short.
                const int reps = isa == lf::cpu_isa::scalar ? std::max(3, opt.reps / 10) : opt.reps;
                std::vector<double> times;
                size_t c = 0;
                for (int rep = -2; rep < reps; ++rep) {  // two warm-up calls
                    const lf::weight_view w{opt.type, weights + (cold ? c : 0) * matrix_bytes, opt.n_in, opt.n_out, opt.layout};
                    c = (c + 1) % n_copies;
                    const auto t0 = std::chrono::steady_clock::now();
                    lf::matmul_isa(isa, w, x.data(), n_rows, y.data(), pool);
                    const auto t1 = std::chrono::steady_clock::now();
                    if (rep >= 0) times.push_back(std::chrono::duration<double>(t1 - t0).count());
                }
                const double t = lf::median(times);
                const double t_min = *std::min_element(times.begin(), times.end());
                if (n_rows == opt.rows.front()) t_one = t;
                const double gbs = matrix_bytes / t / 1e9;
                std::printf("%-7s %-5s %5lld %12.1f %12.1f %9.2f %9.2f\n", lf::isa_name(isa), cold ? "cold" : "hot",
                            (long long)n_rows, t * 1e6, t_min * 1e6, gbs, t / t_one);
                json += std::string(first ? "" : ", ") + "{\"isa\": \"" + lf::isa_name(isa) + "\", \"mode\": \"" +
                        (cold ? "cold" : "hot") + "\", \"rows\": " + std::to_string(n_rows) +
                        ", \"seconds\": " + std::to_string(t) + ", \"seconds_min\": " + std::to_string(t_min) + ", \"weight_gb_per_s\": " + std::to_string(gbs) +
                        ", \"time_vs_first_rows\": " + std::to_string(t / t_one) + "}";
                first = false;
            }
        }
    }
    json += "]}\n";
    if (!opt.out_path.empty()) {
        FILE* f = std::fopen(opt.out_path.c_str(), "w");
        if (!f) usage("cannot write -o file");
        std::fputs(json.c_str(), f);
        std::fclose(f);
    } else {
        std::fputs(json.c_str(), stdout);
    }
    return 0;
}
