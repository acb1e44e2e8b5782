// The engine thread and its wake-ups (see engine-loop.h).
#include "server/engine-loop.h"

#include <cstdio>
#include <exception>

namespace lf::server {

engine_loop::engine_loop(engine& eng) : eng_(eng) { thread_ = std::thread([this] { run(); }); }

engine_loop::~engine_loop() { stop(); }

uint64_t engine_loop::submit(gen_request r) {
    uint64_t id = eng_.submit(std::move(r));
    wake();
    return id;
}

void engine_loop::cancel(uint64_t id) {
    eng_.cancel(id);
    wake();
}

void engine_loop::wake() {
    {
        std::lock_guard<std::mutex> lock(m_);
        ++wake_seq_;
    }
    cv_.notify_one();
}

void engine_loop::stop() {
    {
        std::lock_guard<std::mutex> lock(m_);
        stopping_ = true;
    }
    cv_.notify_one();
    if (thread_.joinable()) thread_.join();
}

void engine_loop::run() {
    for (;;) {
        uint64_t seen;
        {
            std::lock_guard<std::mutex> lock(m_);
            if (stopping_) return;
            seen = wake_seq_;
        }
        bool busy = false;
        try {
            busy = eng_.step();
        } catch (const std::exception& e) {
            // The decode path does not throw; if it ever does, the server must say so loudly
            // rather than hang every client.
            std::fprintf(stderr, "leapfrog serve: engine error: %s\n", e.what());
            std::abort();
        }
        if (busy) continue;
        std::unique_lock<std::mutex> lock(m_);
        cv_.wait(lock, [&] { return stopping_ || wake_seq_ != seen; });
    }
}

}  // namespace lf::server
