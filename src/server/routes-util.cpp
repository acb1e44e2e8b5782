// Monitoring and llama.cpp-compatible utility routes: GET /health (open, no API key), GET /slots,
// GET /metrics (Prometheus text), POST /tokenize, /detokenize, /apply-template.
#include "core/error.h"
#include "server/api-error.h"
#include "server/chat-prompt.h"
#include "server/http-server.h"
#include "server/metrics.h"
#include "server/request-parse.h"
#include "server/sse.h"
#include "tokenizer/utf8.h"

namespace lf::server {

namespace {

using json = nlohmann::json;

const tokenizer& need_tokenizer(const server_context& ctx) {
    if (!ctx.tok())
        throw api_error(400, "this model file carries no tokenizer", "invalid_request_error", "", "no_tokenizer");
    return *ctx.tok();
}

}  // namespace

void add_util_routes(httplib::Server& svr, server_context& ctx) {
    svr.Get("/health", guarded(
                           ctx, "/health",
                           [&ctx](const httplib::Request&, httplib::Response& res) {
                               if (ctx.draining.load()) {
                                   res.status = 503;
                                   res.set_content(dump_json({{"status", "shutting down"}}), "application/json");
                                   return;
                               }
                               res.set_content(dump_json({{"status", "ok"}}), "application/json");
                           },
                           /*open=*/true));

    svr.Get("/slots", guarded(ctx, "/slots", [&ctx](const httplib::Request&, httplib::Response& res) {
        json out = json::array();
        for (const slot_snapshot& s : ctx.eng().slots())
            out.push_back({{"id", s.id},
                           {"is_processing", s.busy},
                           {"state", s.state},
                           {"id_task", s.request_id},
                           {"n_ctx", ctx.limits().n_ctx_slot},
                           {"n_prompt_tokens", s.n_prompt},
                           {"n_past", s.n_past},
                           {"n_decoded", s.n_gen}});
        res.set_content(dump_json(out), "application/json");
    }));

    svr.Get("/metrics", guarded(ctx, "/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
        engine& e = ctx.eng();
        engine_gauges g;
        g.n_running = e.n_running();
        g.n_waiting = e.n_waiting();
        g.n_slots = ctx.config().n_slots;
        g.kv_used_positions = e.kv_used_positions();
        g.kv_total_positions = ctx.limits().n_ctx_slot * ctx.config().n_slots;
        g.counters = e.counters();
        res.set_content(render_prometheus(ctx.metrics().get(), g), "text/plain; version=0.0.4");
    }));

    svr.Post("/tokenize", guarded(ctx, "/tokenize", [&ctx](const httplib::Request& req, httplib::Response& res) {
        json body = parse_body(req.body);
        const tokenizer& tok = need_tokenizer(ctx);
        auto content = body.find("content");
        if (content == body.end() || !content->is_string()) bad_param("content", "'content' must be a string");
        bool add_special = opt_bool(body, "add_special", false);
        bool parse_special = opt_bool(body, "parse_special", true);
        bool with_pieces = opt_bool(body, "with_pieces", false);
        std::vector<int32_t> ids = tok.tokenize(content->get<std::string>(), add_special, parse_special);
        json tokens = json::array();
        for (int32_t id : ids) {
            if (!with_pieces) {
                tokens.push_back(id);
                continue;
            }
            std::string piece(tok.token_to_piece(id, true));
            // llama.cpp: the piece as text when it is valid UTF-8, else its bytes.
            if (utf8_sanitize(piece) == piece) {
                tokens.push_back({{"id", id}, {"piece", piece}});
            } else {
                json bytes = json::array();
                for (unsigned char c : piece) bytes.push_back(c);
                tokens.push_back({{"id", id}, {"piece", bytes}});
            }
        }
        res.set_content(dump_json({{"tokens", tokens}}), "application/json");
    }));

    svr.Post("/detokenize", guarded(ctx, "/detokenize", [&ctx](const httplib::Request& req, httplib::Response& res) {
        json body = parse_body(req.body);
        const tokenizer& tok = need_tokenizer(ctx);
        auto tokens = body.find("tokens");
        if (tokens == body.end()) bad_param("tokens", "'tokens' is required");
        std::vector<int32_t> ids = parse_token_ids(*tokens, "tokens", tok.n_tokens());
        std::string text = utf8_sanitize(tok.decode(ids, /*render_special=*/false));
        res.set_content(dump_json({{"content", text}}), "application/json");
    }));

    svr.Post("/apply-template",
             guarded(ctx, "/apply-template", [&ctx](const httplib::Request& req, httplib::Response& res) {
                 json body = parse_body(req.body);
                 bool add_generation_prompt = opt_bool(body, "add_generation_prompt", true);
                 res.set_content(dump_json({{"prompt", render_chat_prompt(body, add_generation_prompt)}}),
                                 "application/json");
             }));
}

}  // namespace lf::server
