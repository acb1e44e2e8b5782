// Startup, signal handling and draining of `leapfrog serve` (see serve.h).
#include "server/serve.h"

#include <signal.h>

#include <cstdio>
#include <thread>

#include "core/error.h"
#include "server/http-server.h"

namespace lf::server {

namespace {

// SIGTERM/SIGINT are blocked in every thread and taken synchronously by the main thread, so no
// handler runs in signal context and every thread started later inherits the mask.
sigset_t termination_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

bool wait_signal(const sigset_t& set, int timeout_ms) {
    timespec ts{timeout_ms / 1000, (timeout_ms % 1000) * 1000000L};
    return sigtimedwait(&set, nullptr, &ts) > 0;
}

}  // namespace

int serve(const server_config& cfg) {
    const sigset_t sigs = termination_signals();
    pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a vanished client is an error return from send, not a signal

    server_context ctx(cfg);
    httplib::Server svr;
    configure_http(svr, ctx);

    int port = cfg.port;
    if (port == 0) {
        port = svr.bind_to_any_port(cfg.host);
        if (port <= 0) fail("cannot bind to {} on any port", cfg.host);
    } else if (!svr.bind_to_port(cfg.host, port)) {
        fail("cannot bind to {}:{} (in use, or not an address of this machine)", cfg.host, port);
    }
    std::fprintf(stderr,
                 "leapfrog serve: listening on http://%s:%d (model '%s', %d slots x %d positions, MTP %s, draft_max %d)\n",
                 cfg.host.c_str(), port, ctx.model_id().c_str(), cfg.n_slots, ctx.limits().n_ctx_slot,
                 ctx.has_head() ? "on" : "off", ctx.limits().spec.draft_max);
    std::fflush(stderr);

    std::thread http([&] { svr.listen_after_bind(); });

    while (!wait_signal(sigs, 1000)) {
    }
    std::fprintf(stderr, "leapfrog serve: shutting down, finishing %d request(s) in flight\n", ctx.in_flight.load());
    ctx.draining.store(true);
    bool forced = false;
    while (ctx.in_flight.load() > 0) {
        if (wait_signal(sigs, 50)) {
            // A second signal: stop waiting; cancel everything still queued or running.
            forced = true;
            ctx.cancel_all();
            break;
        }
    }
    svr.stop();
    http.join();
    std::fprintf(stderr, "leapfrog serve: stopped%s\n", forced ? " (requests cancelled)" : "");
    return 0;
}

}  // namespace lf::server
