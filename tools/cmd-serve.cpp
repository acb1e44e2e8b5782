// leapfrog serve: the OpenAI-compatible HTTP server. Flags only; the server lives in src/server/.
#include "cli-util.h"
#include "commands.h"
#include "server/serve.h"

int lf::tools::cmd_serve(int argc, char** argv) {
    CLI::App app{"OpenAI-compatible HTTP server with parallel slots and MTP speculative decoding.\n"
                 "Routes: POST /v1/chat/completions, /v1/completions, /tokenize, /detokenize, /apply-template;\n"
                 "GET /v1/models, /health, /metrics, /slots.",
                 "leapfrog serve"};
    server::server_config cfg;
    std::vector<std::string> aliases;
    app.add_option("-m,--model", cfg.model_path, "target model GGUF")->required();
    app.add_option("--mtp,--mtp-head,--model-draft", cfg.head_path, "assistant (MTP) head GGUF; enables speculation");
    app.add_option("--parallel,--n-parallel", cfg.n_slots, "slots: requests decoded concurrently (-np)")
        ->check(CLI::Range(1, 256));
    app.add_option("-c,--ctx-size", cfg.n_ctx,
                   "total KV cache positions, split evenly between the slots (each slot gets ctx-size / parallel)")
        ->check(CLI::Range(16, 1 << 26));
    app.add_option("-b,--batch-size", cfg.n_batch, "rows per target batch; prompts are prefilled in chunks of this")
        ->check(CLI::Range(1, 1 << 16));
    app.add_option("--host", cfg.host, "address to bind (127.0.0.1: this machine only)");
    app.add_option("--port", cfg.port, "port to listen on (0 = any free port, printed at start)")->check(CLI::Range(0, 65535));
    app.add_option("--draft-max,--spec-draft-n-max,--mtp-draft-n", cfg.spec.draft_max,
                   "default tokens drafted per round (per-request 'speculative.draft_max' may change it)")
        ->check(CLI::Range(0, 16));
    app.add_option("--draft-min,--spec-draft-n-min", cfg.spec.draft_min, "discard draft rounds shorter than this")
        ->check(CLI::Range(0, 16));
    app.add_option("--draft-p-min,--spec-draft-p-min", cfg.spec.draft_p_min,
                   "stop drafting when the head's top-1 probability falls below this")
        ->check(CLI::Range(0.0, 1.0));
    add_weight_memory_flags(app, cfg.load);
    app.add_option("-t,--threads", cfg.n_threads, "compute threads (default: all CPUs)")->check(CLI::PositiveNumber);
    app.add_option("--api-key", cfg.api_key, "require 'Authorization: Bearer KEY' on every route except /health");
    app.add_option("--max-queue", cfg.max_queue, "requests that may wait for a slot; beyond that 503 + Retry-After")
        ->check(CLI::Range(0, 4096));
    app.add_option("-a,--alias", aliases, "model name reported by /v1/models and accepted in requests (repeatable)")
        ->allow_extra_args(false);
    app.add_option("--timeout", cfg.timeout_s, "HTTP read/write timeout in seconds")->check(CLI::Range(1, 86400));
    app.add_option("--max-body", cfg.max_body_bytes, "largest request body in bytes (larger: 413)")
        ->check(CLI::Range(1024, 1 << 30));
    app.add_option("--threads-http", cfg.http_threads, "HTTP worker threads (default: parallel + max-queue + 8)")
        ->check(CLI::Range(1, 4096));
    if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
    cfg.aliases = aliases;
    if (cfg.spec.draft_min > cfg.spec.draft_max) fail("--draft-min {} exceeds --draft-max {}", cfg.spec.draft_min, cfg.spec.draft_max);
    return server::serve(cfg);
}
