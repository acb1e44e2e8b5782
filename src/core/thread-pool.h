// A fixed pool of worker threads for data-parallel loops. The calling thread works too, so a
// pool of n threads starts n-1 workers. Between jobs workers spin briefly (a decode step issues
// hundreds of small jobs back to back) and then sleep on a condition variable, so an idle
// server burns no CPU.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace lf {

class thread_pool {
public:
    explicit thread_pool(int n_threads);
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    int size() const { return n_threads_; }

    // Runs fn(task, thread) for every task in [0, n_tasks) across the pool and returns when all
    // are done. `thread` is in [0, size()) and is unique among concurrently running calls, so it
    // can index per-thread scratch. Not reentrant: fn must not call parallel_for.
    void parallel_for(int64_t n_tasks, const std::function<void(int64_t task, int thread)>& fn);

private:
    void worker_main(int thread);
    void run_tasks(int thread);

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> active_{0};
    std::atomic<int64_t> next_task_{0};
    int64_t n_tasks_ = 0;
    const std::function<void(int64_t, int)>* fn_ = nullptr;
    bool stop_ = false;
};

// Default thread count: the number of online CPUs.
int default_thread_count();

}  // namespace lf
