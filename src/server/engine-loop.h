// The engine thread: the only thread that calls engine::step(). It steps while there is work
// and sleeps on a condition variable otherwise; submit() and cancel() wake it. A wake-up
// counter read before each step means a request submitted while step() was deciding that
// there was nothing to do is never missed, and an idle server uses no CPU.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "engine/engine.h"

namespace lf::server {

class engine_loop {
public:
    explicit engine_loop(engine& eng);
    ~engine_loop();  // stops the thread (requests still running are abandoned mid-step)
    engine_loop(const engine_loop&) = delete;
    engine_loop& operator=(const engine_loop&) = delete;

    // Thread-safe; throws lf::error as engine::submit does.
    uint64_t submit(gen_request r);
    // Thread-safe.
    void cancel(uint64_t id);
    // Stops the thread after the step in progress.
    void stop();

    engine& get() { return eng_; }

private:
    void run();
    void wake();

    engine& eng_;
    std::mutex m_;
    std::condition_variable cv_;
    uint64_t wake_seq_ = 0;  // guarded by m_
    bool stopping_ = false;  // guarded by m_
    std::thread thread_;
};

}  // namespace lf::server
