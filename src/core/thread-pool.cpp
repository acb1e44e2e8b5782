#include "core/thread-pool.h"

#include <unistd.h>

#include <chrono>

#if defined(__x86_64__)
#include <immintrin.h>
#define LF_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define LF_PAUSE() asm volatile("yield")
#else
#define LF_PAUSE() ((void)0)
#endif

namespace lf {

int default_thread_count() {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
}

thread_pool::thread_pool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
    for (int t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { worker_main(t); });
}

thread_pool::~thread_pool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
}

void thread_pool::run_tasks(int thread) {
    for (;;) {
        int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
        if (task >= n_tasks_) break;
        (*fn_)(task, thread);
    }
}

void thread_pool::worker_main(int thread) {
    uint64_t seen = 0;
    for (;;) {
        // Jobs arrive in quick bursts during a step: spin briefly, then yield the core (other
        // threads may need it when the machine is oversubscribed), then sleep.
        auto start = std::chrono::steady_clock::now();
        for (int iter = 0; generation_.load(std::memory_order_acquire) == seen; ++iter) {
            auto waited = std::chrono::steady_clock::now() - start;
            if (waited > std::chrono::microseconds(1000)) break;
            if (waited < std::chrono::microseconds(50))
                for (int i = 0; i < 32; ++i) LF_PAUSE();
            else
                std::this_thread::yield();
        }
        if (generation_.load(std::memory_order_acquire) == seen) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return generation_.load() != seen; });
        }
        seen = generation_.load(std::memory_order_acquire);
        if (stop_) return;
        run_tasks(thread);
        active_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void thread_pool::parallel_for(int64_t n_tasks, const std::function<void(int64_t, int)>& fn) {
    if (n_tasks <= 0) return;
    if (n_threads_ == 1 || n_tasks == 1) {
        for (int64_t i = 0; i < n_tasks; ++i) fn(i, 0);
        return;
    }
    fn_ = &fn;
    n_tasks_ = n_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    active_.store(n_threads_ - 1, std::memory_order_relaxed);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    run_tasks(0);
    // Wait for the workers' last tasks; yield after a short spin so a descheduled worker can run.
    for (int iter = 0; active_.load(std::memory_order_acquire) != 0; ++iter) {
        if (iter < 2000) LF_PAUSE();
        else std::this_thread::yield();
    }
    fn_ = nullptr;
}

}  // namespace lf
