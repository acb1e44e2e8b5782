// Streaming read bandwidth; see mem-bandwidth.h.
#include "bench/mem-bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/error.h"

namespace lf {

namespace {

// Sums 64-bit words with independent accumulators so the loop is bound by loads, not by one
// dependency chain; the sum is kept so the compiler cannot drop the reads. n is a multiple of 8.
uint64_t sum_words(const uint64_t* p, size_t n) {
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    for (size_t i = 0; i < n; i += 8) {
        a0 += p[i]; a1 += p[i + 1]; a2 += p[i + 2]; a3 += p[i + 3];
        a4 += p[i + 4]; a5 += p[i + 5]; a6 += p[i + 6]; a7 += p[i + 7];
    }
    return a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
}

}  // namespace

bandwidth_result measure_read_bandwidth(size_t buffer_bytes, int passes, thread_pool& pool) {
    if (passes < 1) fail("bandwidth measurement needs at least one pass");
    const size_t chunk_bytes = size_t{4} << 20;  // one task per 4 MiB keeps threads balanced
    buffer_bytes = std::max(chunk_bytes, buffer_bytes / chunk_bytes * chunk_bytes);
    const size_t n_words = buffer_bytes / sizeof(uint64_t);
    std::unique_ptr<uint64_t[]> buf(new uint64_t[n_words]);  // u64 [n_words]
    const int64_t n_chunks = static_cast<int64_t>(buffer_bytes / chunk_bytes);
    const size_t words_per_chunk = chunk_bytes / sizeof(uint64_t);
    // First touch from the pool's threads places pages as the reads will use them.
    pool.parallel_for(n_chunks, [&](int64_t c, int) {
        uint64_t* p = buf.get() + static_cast<size_t>(c) * words_per_chunk;
        for (size_t i = 0; i < words_per_chunk; ++i) p[i] = i ^ static_cast<uint64_t>(c);
    });
    std::vector<uint64_t> sums(static_cast<size_t>(pool.size()), 0);
    std::vector<double> gb_s;
    for (int pass = 0; pass < passes; ++pass) {
        auto t0 = std::chrono::steady_clock::now();
        pool.parallel_for(n_chunks, [&](int64_t c, int thread) {
            sums[static_cast<size_t>(thread)] += sum_words(buf.get() + static_cast<size_t>(c) * words_per_chunk, words_per_chunk);
        });
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        gb_s.push_back(static_cast<double>(buffer_bytes) / s / 1e9);
    }
    volatile uint64_t sink = 0;
    for (uint64_t s : sums) sink = sink + s;
    (void)sink;
    bandwidth_result r;
    r.buffer_bytes = buffer_bytes;
    r.passes = passes;
    r.read_gb_s = *std::max_element(gb_s.begin(), gb_s.end());
    std::sort(gb_s.begin(), gb_s.end());
    r.median_gb_s = gb_s[gb_s.size() / 2];
    return r;
}

}  // namespace lf
