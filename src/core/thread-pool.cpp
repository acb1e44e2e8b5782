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

namespace {
uint32_t gen_of(uint64_t c) { return static_cast<uint32_t>(c >> 32); }
int64_t index_of(uint64_t c) { return static_cast<int64_t>(c & 0xffffffffu); }
}  // namespace

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
        stop_.store(true);
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
}

void thread_pool::run_tasks(uint32_t gen, int thread) {
    job& j = jobs_[gen & 1];
    uint64_t c = claim_.load(std::memory_order_acquire);
    for (;;) {
        if (gen_of(c) != gen) return;
        // n may belong to a later job when this one has moved on; the CAS below then fails.
        int64_t n = j.n_tasks.load(std::memory_order_acquire);
        if (index_of(c) >= n) return;
        if (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire)) continue;
        // The job cannot finish before this task does, so its descriptor is stable here.
        (*j.fn.load(std::memory_order_acquire))(index_of(c), thread);
        done_.fetch_add(1, std::memory_order_acq_rel);
        c = claim_.load(std::memory_order_acquire);
    }
}

void thread_pool::worker_main(int thread) {
    uint32_t seen = 0;
    for (;;) {
        auto start = std::chrono::steady_clock::now();
        // Spin briefly, then yield the core, then sleep until a new generation is published.
        for (;;) {
            if (stop_.load(std::memory_order_acquire)) return;
            if (gen_of(claim_.load(std::memory_order_acquire)) != seen) break;
            auto waited = std::chrono::steady_clock::now() - start;
            if (waited < std::chrono::microseconds(50)) {
                for (int i = 0; i < 32; ++i) LF_PAUSE();
            } else if (waited < std::chrono::microseconds(2000)) {
                std::this_thread::yield();
            } else {
                std::unique_lock<std::mutex> lock(mutex_);
                sleeping_.fetch_add(1);
                wake_.wait(lock, [&] { return stop_.load() || gen_of(claim_.load()) != seen; });
                sleeping_.fetch_sub(1);
                start = std::chrono::steady_clock::now();
            }
        }
        seen = gen_of(claim_.load(std::memory_order_acquire));
        run_tasks(seen, thread);
    }
}

void thread_pool::parallel_for(int64_t n_tasks, const std::function<void(int64_t, int)>& fn) {
    if (n_tasks <= 0) return;
    if (n_threads_ == 1 || n_tasks == 1) {
        for (int64_t i = 0; i < n_tasks; ++i) fn(i, 0);
        return;
    }
    const uint32_t gen = ++generation_;
    job& j = jobs_[gen & 1];
    j.fn.store(&fn, std::memory_order_release);
    j.n_tasks.store(n_tasks, std::memory_order_release);
    done_.store(0, std::memory_order_release);
    claim_.store(static_cast<uint64_t>(gen) << 32, std::memory_order_release);
    if (sleeping_.load(std::memory_order_acquire) > 0) {
        std::lock_guard<std::mutex> lock(mutex_);  // pairs with the sleepers' predicate check
        wake_.notify_all();
    }
    run_tasks(gen, 0);
    // Wait for tasks other threads claimed; yield after a short spin.
    for (int iter = 0; done_.load(std::memory_order_acquire) != n_tasks; ++iter) {
        if (iter < 1000) LF_PAUSE();
        else std::this_thread::yield();
    }
}

}  // namespace lf
