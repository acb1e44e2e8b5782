// cpp-httplib setup, authentication and error mapping (see http-server.h).
#include "server/http-server.h"

#include <cstdio>
#include <exception>

#include "core/error.h"
#include "server/api-error.h"
#include "server/sse.h"

namespace lf::server {

namespace {

void send_error(httplib::Response& res, const api_error& e) {
    res.status = e.status;
    if (e.status == 503) res.set_header("Retry-After", "1");
    if (e.status == 401) res.set_header("WWW-Authenticate", "Bearer");
    res.set_content(dump_json(error_body(e)), "application/json");
}

// Compares without an early exit, so response time does not reveal how much of a key matched.
bool same_secret(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() != b.size();
    for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    return diff == 0;
}

bool authorized(const server_context& ctx, const httplib::Request& req) {
    const std::string& key = ctx.config().api_key;
    if (key.empty()) return true;
    std::string auth = req.get_header_value("Authorization");
    const std::string bearer = "Bearer ";
    if (auth.compare(0, bearer.size(), bearer) == 0 && same_secret(auth.substr(bearer.size()), key)) return true;
    return req.has_header("X-Api-Key") && same_secret(req.get_header_value("X-Api-Key"), key);
}

const api_error k_unauthorized(401, "invalid or missing API key (send 'Authorization: Bearer KEY')",
                               "authentication_error", "", "invalid_api_key");

}  // namespace

httplib::Server::Handler guarded(server_context& ctx, std::string route, route_fn fn, bool open) {
    return [&ctx, route = std::move(route), fn = std::move(fn), open](const httplib::Request& req,
                                                                       httplib::Response& res) {
        try {
            if (!open && !authorized(ctx, req)) throw k_unauthorized;
            fn(req, res);
        } catch (const api_error& e) {
            send_error(res, e);
        } catch (const lf::error& e) {
            send_error(res, api_error(400, e.what(), "invalid_request_error"));
        } catch (const nlohmann::json::exception& e) {
            // A handler read a field with the wrong type that validation did not catch.
            send_error(res, api_error(400, std::string("malformed request: ") + e.what(), "invalid_request_error"));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "leapfrog serve: %s %s: %s\n", req.method.c_str(), req.path.c_str(), e.what());
            send_error(res, api_error(500, std::string("internal error: ") + e.what(), "server_error"));
        }
        ctx.metrics().count_request(route, res.status < 0 ? 200 : res.status);
    };
}

void configure_http(httplib::Server& svr, server_context& ctx) {
    const server_config& cfg = ctx.config();
    // Every queued or running request holds a thread while it waits or streams; the rest answer
    // health checks and metrics, so those stay responsive under full load.
    const size_t n_threads = cfg.http_threads > 0 ? cfg.http_threads : cfg.n_slots + cfg.max_queue + 8;
    svr.new_task_queue = [n_threads] { return new httplib::ThreadPool(n_threads); };
    svr.set_payload_max_length(cfg.max_body_bytes);
    svr.set_read_timeout(cfg.timeout_s, 0);
    svr.set_write_timeout(cfg.timeout_s, 0);
    svr.set_keep_alive_timeout(5);
    svr.set_tcp_nodelay(true);

    // Whatever httplib answers by itself (unknown route, body too large, bad HTTP) gets the
    // OpenAI error body too. Handlers that already wrote a body keep it.
    svr.set_error_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        api_error e(res.status, fmt::format("the request could not be handled (HTTP {})", res.status), "invalid_request_error");
        if (res.status == 404) {
            if (!authorized(ctx, req)) {
                e = k_unauthorized;
            } else {
                e = api_error(404, "no route for " + req.method + " " + req.path, "not_found_error", "",
                              "route_not_found");
            }
        } else if (res.status == 413) {
            e = api_error(413, fmt::format("the request body is larger than the limit of {} bytes", ctx.config().max_body_bytes),
                          "invalid_request_error", "", "payload_too_large");
        }
        send_error(res, e);
        ctx.metrics().count_request("other", res.status);
    });
    // Runs before cpp-httplib reads the body: a declared length that is malformed or over the
    // limit is refused at once, instead of the body being read (or waited for) and discarded.
    // cpp-httplib does not bound chunked request bodies, so bodies must declare their length (every
    // OpenAI client does).
    svr.set_pre_routing_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
        if (req.has_header("Transfer-Encoding")) {
            send_error(res, api_error(411, "request bodies must be sent with a Content-Length, not chunked",
                                      "invalid_request_error", "", "length_required"));
            res.set_header("Connection", "close");
            ctx.metrics().count_request("other", res.status);
            return httplib::Server::HandlerResponse::Handled;
        }
        if (!req.has_header("Content-Length")) return httplib::Server::HandlerResponse::Unhandled;
        const std::string v = req.get_header_value("Content-Length");
        bool digits = !v.empty() && v.size() <= 18 && v.find_first_not_of("0123456789") == std::string::npos;
        api_error e(400, "the Content-Length header is not a byte count", "invalid_request_error", "",
                    "bad_content_length");
        if (digits) {
            if (std::stoull(v) <= ctx.config().max_body_bytes) return httplib::Server::HandlerResponse::Unhandled;
            e = api_error(413, fmt::format("the request body is larger than the limit of {} bytes", ctx.config().max_body_bytes),
                          "invalid_request_error", "", "payload_too_large");
        }
        send_error(res, e);
        // The body was not read, so this connection cannot carry another request.
        res.set_header("Connection", "close");
        ctx.metrics().count_request("other", res.status);
        return httplib::Server::HandlerResponse::Handled;
    });
    svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        send_error(res, api_error(500, "internal error", "server_error"));
    });

    add_openai_routes(svr, ctx);
    add_util_routes(svr, ctx);
}

}  // namespace lf::server
