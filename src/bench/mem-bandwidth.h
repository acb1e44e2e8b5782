// The machine's memory read bandwidth, measured the way a decode step reads weights: every
// thread streams through its share of a buffer far larger than the caches, once per pass.
// The bound of a memory-bound decode is this bandwidth divided by the bytes one step reads.
#pragma once
#include <cstddef>

#include "core/thread-pool.h"

namespace lf {

struct bandwidth_result {
    double read_gb_s = 0;   // best pass, 1e9 bytes per second
    double median_gb_s = 0; // median pass
    size_t buffer_bytes = 0;
    int passes = 0;
};

// Streams a buffer of `buffer_bytes` (rounded down to 4 KiB) `passes` times with the pool's
// threads. The buffer is written once before timing so its pages exist.
bandwidth_result measure_read_bandwidth(size_t buffer_bytes, int passes, thread_pool& pool);

}  // namespace lf
