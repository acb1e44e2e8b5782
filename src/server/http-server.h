// The HTTP transport (cpp-httplib): limits, timeouts, thread pool, authentication, and the
// wrapper every route goes through, which turns api_error and any other exception into an
// OpenAI-style error response and counts the request in the metrics. Unknown routes, bodies
// over the size limit and unparsable HTTP get the same error body.
#pragma once
#include <functional>
#include <string>

#include <httplib.h>

#include "server/server-context.h"

namespace lf::server {

using route_fn = std::function<void(const httplib::Request&, httplib::Response&)>;

// Wraps a route: API key check (unless open), error mapping, metrics.
httplib::Server::Handler guarded(server_context& ctx, std::string route, route_fn fn, bool open = false);

// Applies limits, the thread pool and error handlers, and registers every route.
void configure_http(httplib::Server& svr, server_context& ctx);

// Routes, by family.
void add_openai_routes(httplib::Server& svr, server_context& ctx);
void add_util_routes(httplib::Server& svr, server_context& ctx);

}  // namespace lf::server
