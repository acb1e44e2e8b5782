// A fixed pool of worker threads for data-parallel loops. The calling thread works too, so a
// pool of n threads starts n-1 workers.
//
// Design: a job is published by bumping a generation; tasks are claimed with a compare-and-swap
// on one word that packs (generation, next task index), so a worker that wakes up late can never
// claim a task of a job it did not see. The caller waits for its tasks to be *done*, not for every
// worker to check in, so a descheduled worker (an oversubscribed machine) never stalls a step.
// Between jobs workers spin briefly (a decode step issues hundreds of small jobs back to back),
// then yield, then sleep on a condition variable, so an idle server burns no CPU.
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
    struct job {
        std::atomic<int64_t> n_tasks{0};
        std::atomic<const std::function<void(int64_t, int)>*> fn{nullptr};
    };
    void worker_main(int thread);
    // Claims and runs tasks of generation gen until none are left; returns tasks run.
    void run_tasks(uint32_t gen, int thread);

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::atomic<int> sleeping_{0};
    std::atomic<uint64_t> claim_{0};  // (generation << 32) | next task index
    std::atomic<int64_t> done_{0};    // tasks finished in the current generation
    job jobs_[2];                     // descriptor of generation g lives in jobs_[g & 1]
    uint32_t generation_ = 0;         // caller-side copy of the current generation
    std::atomic<bool> stop_{false};
};

// Default thread count: the number of online CPUs.
int default_thread_count();

}  // namespace lf
