// bench_attention: one attention task as the model makes it, the part of a multi-token forward
// that grows with the context.
//
//   bench_attention [--head-dim 256] [--rows 4] [--heads 8] [--keys 256] [-t THREADS]
//                   [--isa all|scalar|avx2|avx512] [--mib 256] [--reps 2000] [--layout chunk|head]
//
// A task is `rows` query rows of one slot, `heads` query heads sharing one KV head, against one
// chunk of `keys` positions (gemma4.cpp's k_attn_chunk). With -t T, T tasks run at once, one per
// thread, on T consecutive chunks, and write their partial outputs where the model puts them:
// entry (row, head, chunk) at (row * T + chunk) * run + head, a run being `heads` entries and
// 4 KiB of unused ones (--layout chunk, the model's), or at row * heads * T + head * T + chunk
// (--layout head, the model's earlier layout, which made two cores' tasks slow each other).
// Two settings per level:
//   cold: cycles through enough distinct copies of the keys and values (--mib in total) that
//         every task reads them from DRAM, as a forward does after streaming a layer's weights;
//   hot:  one copy, in cache.
// Reported: median and fastest microseconds per round of T tasks, and the multiply-adds per
// second of one task at the median (2 * rows * heads * keys * head_dim per task).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/huge-buffer.h"
#include "core/median.h"
#include "core/thread-pool.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/ops-impl.h"

namespace {

struct options {
    int head_dim = 256, rows = 4, heads = 8, keys = 256, threads = 1, reps = 2000;
    int64_t total_mib = 256;
    std::string isa = "all";
    bool by_chunk = true;
};

[[noreturn]] void usage(const char* why) {
    std::fprintf(stderr, "bench_attention: %s\n", why);
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
        if (a == "--head-dim") o.head_dim = std::atoi(next().c_str());
        else if (a == "--rows") o.rows = std::atoi(next().c_str());
        else if (a == "--heads") o.heads = std::atoi(next().c_str());
        else if (a == "--keys") o.keys = std::atoi(next().c_str());
        else if (a == "-t" || a == "--threads") o.threads = std::atoi(next().c_str());
        else if (a == "--isa") o.isa = next();
        else if (a == "--mib") o.total_mib = std::atoll(next().c_str());
        else if (a == "--reps") o.reps = std::atoi(next().c_str());
        else if (a == "--layout") {
            const std::string v = next();
            if (v != "chunk" && v != "head") usage("--layout takes chunk or head");
            o.by_chunk = v == "chunk";
        } else usage(("unknown flag " + a).c_str());
    }
    if (o.head_dim < 8 || o.head_dim % 8) usage("--head-dim must be a positive multiple of 8");
    if (o.rows < 1 || o.rows > lf::k_attn_max_rows) usage("--rows must be 1..8");
    if (o.heads < 1 || o.keys < 1 || o.threads < 1 || o.reps < 1 || o.total_mib < 1)
        usage("--heads, --keys, -t, --reps and --mib must be positive");
    return o;
}


}  // namespace

int main(int argc, char** argv) {
    const options opt = parse(argc, argv);
    const int D = opt.head_dim, T = opt.threads, H = opt.heads, R = opt.rows;
    const size_t positions = static_cast<size_t>(T) * opt.keys;
    const size_t copy_floats = positions * D;  // one copy of the keys (and one of the values)
    const size_t n_copies = std::max<size_t>(1, (static_cast<size_t>(opt.total_mib) << 20) / (2 * copy_floats * 4));

    // Keys and values on 2 MiB pages, as the model's cache: f32 [n_copies, positions, D] each.
    lf::huge_buffer kv_buf(2 * n_copies * copy_floats * sizeof(float));
    float* const keys = reinterpret_cast<float*>(kv_buf.data());
    float* const values = keys + n_copies * copy_floats;
    std::mt19937 rng(1);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (size_t i = 0; i < copy_floats; ++i) {
        keys[i] = 0.1f * dist(rng);
        values[i] = dist(rng);
    }
    for (size_t c = 1; c < n_copies; ++c) {
        std::copy_n(keys, copy_floats, keys + c * copy_floats);
        std::copy_n(values, copy_floats, values + c * copy_floats);
    }
    std::vector<float> q(static_cast<size_t>(R) * H * D);  // f32 [rows, heads, D]
    for (auto& x : q) x = dist(rng);
    const int run = H + (4096 / static_cast<int>(sizeof(float)) + D - 1) / D;  // as gemma4.cpp
    const size_t n_entries = static_cast<size_t>(R) * T * (opt.by_chunk ? run : H);
    std::vector<float> acc(n_entries * D);  // f32 [entries, D] partial outputs
    std::vector<lf::attn_partial> parts(n_entries);
    const auto entry = [&](int r, int h, int j) {
        return opt.by_chunk ? (static_cast<size_t>(r) * T + j) * run + h : (static_cast<size_t>(r) * H + h) * T + j;
    };

    lf::thread_pool pool(T);
    std::printf("attention task: %d rows x %d heads, %d keys, head_dim %d; %d at once (layout by %s)\n", R, H,
                opt.keys, D, T, opt.by_chunk ? "chunk" : "head");
    std::printf("%-7s %-5s %12s %12s %14s\n", "isa", "mode", "median us", "fastest us", "GMAC/s (task)");
    for (lf::cpu_isa isa : {lf::cpu_isa::scalar, lf::cpu_isa::avx2, lf::cpu_isa::avx512}) {
        if (!lf::isa_supported(isa) || (opt.isa != "all" && opt.isa != lf::isa_name(isa))) continue;
        for (bool cold : {true, false}) {
            const int reps = isa == lf::cpu_isa::scalar ? std::max(3, opt.reps / 20) : opt.reps;
            std::vector<double> secs;
            for (int rep = 0; rep < reps + 1; ++rep) {
                const size_t copy = cold ? static_cast<size_t>(rep) % n_copies : 0;
                const lf::kv_span span{keys + copy * copy_floats, values + copy * copy_floats, static_cast<int>(positions),
                                       static_cast<size_t>(D)};
                const auto t0 = std::chrono::steady_clock::now();
                pool.parallel_for(T, [&](int64_t j, int) {
                    lf::attn_row rows[lf::k_attn_max_rows];
                    for (int r = 0; r < R; ++r) {
                        const size_t e = entry(r, 0, static_cast<int>(j));
                        rows[r] = {&q[static_cast<size_t>(r) * H * D], static_cast<size_t>(D), &acc[e * D],
                                   static_cast<size_t>(opt.by_chunk ? D : T * D), &parts[e],
                                   static_cast<size_t>(opt.by_chunk ? 1 : T), static_cast<int>(j) * opt.keys,
                                   static_cast<int>(j + 1) * opt.keys - 1};
                    }
                    lf::cpu::attend_partial_rows_isa(isa, rows, R, H, &span, 1, 0, D);
                });
                if (rep > 0) secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            }
            const double med = lf::median(secs), best = *std::min_element(secs.begin(), secs.end());
            const double macs = 2.0 * R * H * opt.keys * D;
            std::printf("%-7s %-5s %12.1f %12.1f %14.1f\n", lf::isa_name(isa), cold ? "cold" : "hot", med * 1e6, best * 1e6,
                        macs / med * 1e-9);
        }
    }
    return 0;
}
