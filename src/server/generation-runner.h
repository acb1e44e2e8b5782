// Runs one generation for an HTTP handler: queues it in the engine, then either waits for the
// whole answer or streams it as SSE, and watches the client all along. A client that goes away —
// while queued, prefilling, generating, streamed or not — has its request cancelled in the engine
// at once, which frees its slot.
//
// Errors before anything is sent (queue full → 503 with Retry-After, draining → 503) are thrown
// as api_error; after a stream has started there is nothing left to report an error to.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <httplib.h>

#include "server/request-parse.h"
#include "server/response-format.h"
#include "server/server-context.h"

namespace lf::server {

void run_generation(server_context& ctx, const httplib::Request& req, httplib::Response& res,
                    std::vector<int32_t> prompt, const gen_options& opt, std::unique_ptr<response_format> format);

}  // namespace lf::server
