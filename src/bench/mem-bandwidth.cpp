// Streaming read bandwidth; see mem-bandwidth.h.
#include "bench/mem-bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/huge-buffer.h"

namespace lf {

namespace {

// Sums 64-bit words through vectors (a GCC/Clang extension) with four independent
// accumulators, so the loop is bound by memory rather than by instruction throughput. The sum is
// kept so the compiler cannot drop the reads. n is a multiple of 4 vectors.
template <typename V>
__attribute__((always_inline)) inline uint64_t sum_vectors(const uint64_t* p, size_t n) {
    constexpr size_t lanes = sizeof(V) / sizeof(uint64_t);
    const V* q = reinterpret_cast<const V*>(p);
    V a = {}, b = a, c = a, d = a;
    for (size_t i = 0; i < n / lanes; i += 4) {
        a += q[i];
        b += q[i + 1];
        c += q[i + 2];
        d += q[i + 3];
    }
    const V s = a + b + c + d;
    uint64_t t = 0;
    for (size_t k = 0; k < lanes; ++k) t += s[k];
    return t;
}

typedef uint64_t u64x4 __attribute__((vector_size(32)));
typedef uint64_t u64x8 __attribute__((vector_size(64)));
using sum_fn = uint64_t (*)(const uint64_t*, size_t);

// Whatever SIMD the baseline target has (two 16-byte loads per vector on x86-64).
uint64_t sum_words(const uint64_t* p, size_t n) { return sum_vectors<u64x4>(p, n); }

#if defined(__x86_64__)
// The widest loads the CPU has, as the matmul kernels use them. On the 2-core EPYC VM of
// BENCHMARKS.md 64-byte loads read 72-84 GB/s where the baseline loop reads 62-67.
__attribute__((target("avx512f"))) uint64_t sum_words_avx512(const uint64_t* p, size_t n) {
    return sum_vectors<u64x8>(p, n);
}
__attribute__((target("avx2"))) uint64_t sum_words_avx2(const uint64_t* p, size_t n) {
    return sum_vectors<u64x4>(p, n);
}
#endif

sum_fn widest_sum() {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return sum_words_avx512;
    if (__builtin_cpu_supports("avx2")) return sum_words_avx2;
#endif
    return sum_words;
}

}  // namespace

bandwidth_result measure_read_bandwidth(size_t buffer_bytes, int passes, thread_pool& pool) {
    if (passes < 1) fail("bandwidth measurement needs at least one pass");
    const size_t chunk_bytes = size_t{4} << 20;  // one task per 4 MiB keeps threads balanced
    buffer_bytes = std::max(chunk_bytes, buffer_bytes / chunk_bytes * chunk_bytes);
    // On 2 MiB pages where the kernel gives them, as weights read with --no-mmap are: what the
    // memory delivers, not what 4 KiB pages let one core take in.
    huge_buffer mem(buffer_bytes);
    uint64_t* const words = reinterpret_cast<uint64_t*>(mem.data());  // u64 [buffer_bytes / 8]
    const int64_t n_chunks = static_cast<int64_t>(buffer_bytes / chunk_bytes);
    const size_t words_per_chunk = chunk_bytes / sizeof(uint64_t);
    // First touch from the pool's threads places pages as the reads will use them.
    pool.parallel_for(n_chunks, [&](int64_t c, int) {
        uint64_t* p = words + static_cast<size_t>(c) * words_per_chunk;
        for (size_t i = 0; i < words_per_chunk; ++i) p[i] = i ^ static_cast<uint64_t>(c);
    });
    const sum_fn sum = widest_sum();
    std::vector<uint64_t> sums(static_cast<size_t>(pool.size()), 0);
    std::vector<double> gb_s;
    for (int pass = 0; pass < passes; ++pass) {
        auto t0 = std::chrono::steady_clock::now();
        pool.parallel_for(n_chunks, [&](int64_t c, int thread) {
            sums[static_cast<size_t>(thread)] += sum(words + static_cast<size_t>(c) * words_per_chunk, words_per_chunk);
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
