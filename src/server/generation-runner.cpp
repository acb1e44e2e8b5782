// Queue, wait or stream, and watch the client, for one generation (see generation-runner.h).
#include "server/generation-runner.h"

#include <chrono>

#include "core/error.h"
#include "server/api-error.h"
#include "server/connection-probe.h"
#include "server/gen-stream.h"
#include "server/sse.h"

namespace lf::server {

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

// How often a waiting handler looks at its connection. Short enough that a vanished client's
// slot is freed within a few engine steps, long enough to cost nothing.
constexpr auto k_poll = 50ms;

// Counts a generation request as in flight from submission until its response is finished
// (for streams: until the response object, which owns the stream, is destroyed).
struct in_flight_guard {
    server_context& ctx;
    uint64_t id = 0;
    explicit in_flight_guard(server_context& c) : ctx(c) { ++ctx.in_flight; }
    void set_id(uint64_t i) {
        id = i;
        ctx.add_active(id);
    }
    ~in_flight_guard() {
        if (id) ctx.remove_active(id);
        --ctx.in_flight;
    }
};

// Everything a streamed response needs after the handler has returned.
struct stream_state {
    server_context& ctx;
    std::shared_ptr<gen_stream> gs;
    std::unique_ptr<response_format> format;
    connection_probe probe;
    uint64_t id = 0;
    bool include_usage = false;
    bool finished = false;
    in_flight_guard guard;

    explicit stream_state(server_context& c) : ctx(c), guard(c) {}

    void abandon() {
        if (finished) return;
        finished = true;
        gs->abandon();
        ctx.loop().cancel(id);
        ctx.metrics().count_finish("cancelled");
    }
};

uint64_t submit(server_context& ctx, gen_request r) {
    if (ctx.draining.load()) {
        ctx.metrics().count_rejected("draining");
        throw api_error(503, "the server is shutting down", "unavailable_error", "", "server_shutting_down");
    }
    try {
        return ctx.loop().submit(std::move(r));
    } catch (const lf::error& e) {
        // The prompt was validated against the same limits before, so the engine refuses only
        // for lack of queue room.
        ctx.metrics().count_rejected("queue_full");
        throw api_error(503, fmt::format("the server is busy: {}; retry later", e.what()), "unavailable_error", "",
                        "queue_full");
    }
}

}  // namespace

void run_generation(server_context& ctx, const httplib::Request& req, httplib::Response& res,
                    std::vector<int32_t> prompt, const gen_options& opt, std::unique_ptr<response_format> format) {
    gen_request r;
    r.prompt = std::move(prompt);
    r.max_tokens = opt.max_tokens < 0 ? ctx.limits().n_ctx_slot : opt.max_tokens;
    r.sampling = opt.sampling;
    r.spec = opt.spec;
    r.eog = ctx.eog();
    r.ignore_eos = opt.ignore_eos;
    auto gs = std::make_shared<gen_stream>(ctx.tok(), opt.stop);
    gs->attach(r);

    if (!opt.stream) {
        in_flight_guard guard(ctx);
        const uint64_t id = submit(ctx, std::move(r));
        guard.set_id(id);
        connection_probe probe(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
        std::string text;
        std::vector<int32_t> ids;
        for (;;) {
            gen_stream::news n = gs->wait(k_poll);
            text += n.text;
            ids.insert(ids.end(), n.tokens.begin(), n.tokens.end());
            if (n.done) break;
            if (probe.peer_gone()) {
                gs->abandon();
                ctx.loop().cancel(id);
                gs->wait_done();
                ctx.metrics().count_finish("cancelled");
                // nginx's "client closed request"; nobody reads it, but the metrics count it.
                res.status = 499;
                res.set_content("{}", "application/json");
                return;
            }
        }
        json body = format->whole(text, ids, gs->result().stats, gs->finish_reason());
        ctx.metrics().count_finish(format->reported_reason());
        res.set_content(dump_json(body), "application/json");
        return;
    }

    auto st = std::make_shared<stream_state>(ctx);
    st->gs = gs;
    st->format = std::move(format);
    st->include_usage = opt.include_usage;
    st->id = submit(ctx, std::move(r));
    st->guard.set_id(st->id);
    st->probe = connection_probe(req.local_addr, req.local_port, req.remote_addr, req.remote_port);
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [st](size_t, httplib::DataSink& sink) {
            if (st->finished) {
                sink.done();
                return true;
            }
            gen_stream::news n = st->gs->wait(k_poll);
            std::string out;
            for (const json& c : st->format->delta(n.text, n.tokens)) out += sse_event(c);
            if (n.done) {
                for (const json& c : st->format->finish(st->gs->result().stats, st->gs->finish_reason(), st->include_usage))
                    out += sse_event(c);
                out += sse_done();
            }
            if (!out.empty() && !sink.write(out.data(), out.size())) {
                st->abandon();
                return false;
            }
            if (n.done) {
                st->finished = true;
                st->ctx.metrics().count_finish(st->format->reported_reason());
                sink.done();
                return true;
            }
            if (out.empty() && st->probe.peer_gone()) {
                st->abandon();
                return false;
            }
            return true;
        },
        // Runs when the response is destroyed; a stream that did not finish lost its client.
        [st](bool) { st->abandon(); });
}

}  // namespace lf::server
