// `leapfrog serve` after its flags are parsed: loads the model, binds, serves until SIGTERM or
// SIGINT, then drains — new requests get 503, requests in flight (queued, running, streaming)
// finish — and returns 0. A second signal while draining cancels what is left.
#pragma once
#include "server/server-context.h"

namespace lf::server {

int serve(const server_config& cfg);

}  // namespace lf::server
