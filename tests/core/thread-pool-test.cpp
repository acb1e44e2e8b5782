// The thread pool runs every task exactly once, for many back-to-back jobs of varied sizes, with
// thread indices that are unique among concurrently running tasks.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/thread-pool.h"

using namespace lf;

TEST(thread_pool, every_task_runs_exactly_once_across_many_jobs) {
    for (int n_threads : {1, 2, 3, 8}) {
        thread_pool pool(n_threads);
        for (int job = 0; job < 3000; ++job) {
            const int64_t n = 1 + (job * 37) % 97;
            std::vector<std::atomic<int>> hits(n);
            pool.parallel_for(n, [&](int64_t t, int thread) {
                ASSERT_GE(thread, 0);
                ASSERT_LT(thread, n_threads);
                hits[t].fetch_add(1);
            });
            for (int64_t t = 0; t < n; ++t) ASSERT_EQ(hits[t].load(), 1) << "job " << job << " task " << t;
        }
    }
}

TEST(thread_pool, thread_index_is_exclusive) {
    thread_pool pool(4);
    std::vector<std::atomic<int>> busy(4);
    std::atomic<int> clashes{0};
    for (int job = 0; job < 200; ++job)
        pool.parallel_for(64, [&](int64_t, int thread) {
            if (busy[thread].fetch_add(1) != 0) clashes++;
            volatile double x = 0;
            for (int i = 0; i < 200; ++i) x = x + i;
            busy[thread].fetch_sub(1);
        });
    EXPECT_EQ(clashes.load(), 0);
}

TEST(thread_pool, idle_workers_sleep_and_wake) {
    thread_pool pool(3);
    std::atomic<int> sum{0};
    pool.parallel_for(10, [&](int64_t t, int) { sum += static_cast<int>(t); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // workers are asleep by now
    pool.parallel_for(10, [&](int64_t t, int) { sum += static_cast<int>(t); });
    EXPECT_EQ(sum.load(), 90);
}
