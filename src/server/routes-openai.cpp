// OpenAI routes: POST /v1/chat/completions, POST /v1/completions, GET /v1/models (also without
// the /v1 prefix, as llama.cpp accepts them). Each handler validates the body, builds the prompt
// tokens and hands over to run_generation.
#include "core/error.h"
#include "server/api-error.h"
#include "server/chat-prompt.h"
#include "server/generation-runner.h"
#include "server/http-server.h"
#include "server/request-parse.h"
#include "server/sse.h"

namespace lf::server {

namespace {

using json = nlohmann::json;

void check_model(const server_context& ctx, const json& body) {
    auto it = body.find("model");
    if (it == body.end() || it->is_null()) return;
    if (!it->is_string()) bad_param("model", "'model' must be a string");
    const std::string& name = it->get_ref<const std::string&>();
    if (!ctx.model_known(name))
        throw api_error(404, fmt::format("the model '{}' does not exist; this server has '{}'", name, ctx.model_id()),
                        "invalid_request_error", "model", "model_not_found");
}

void require_tokenizer(const server_context& ctx, const char* what) {
    if (!ctx.tok())
        throw api_error(400, fmt::format("{} needs a tokenizer, and this model file carries none", what),
                        "invalid_request_error", "", "no_tokenizer");
}

}  // namespace

void add_openai_routes(httplib::Server& svr, server_context& ctx) {
    auto chat = guarded(ctx, "/v1/chat/completions", [&ctx](const httplib::Request& req, httplib::Response& res) {
        json body = parse_body(req.body);
        check_model(ctx, body);
        gen_options opt = parse_gen_options(body, ctx.limits(), -1);
        require_tokenizer(ctx, "chat");
        std::string prompt = render_chat_prompt(body, true);
        // The rendered prompt spells its own <bos> and turn markers.
        std::vector<int32_t> ids = ctx.tok()->tokenize(prompt, /*add_special=*/false, /*parse_special=*/true);
        check_prompt_fits(ids.size(), ctx.limits(), "messages");
        run_generation(ctx, req, res, std::move(ids), opt,
                       make_chat_completion_format({ctx.model_id(), opt.return_tokens}));
    });
    svr.Post("/v1/chat/completions", chat);
    svr.Post("/chat/completions", chat);

    auto completions = guarded(ctx, "/v1/completions", [&ctx](const httplib::Request& req, httplib::Response& res) {
        json body = parse_body(req.body);
        check_model(ctx, body);
        gen_options opt = parse_gen_options(body, ctx.limits(), 16);
        auto prompt = parse_prompt(body, ctx.limits());
        std::vector<int32_t> ids;
        if (auto* text = std::get_if<std::string>(&prompt)) {
            ids = ctx.tok()->tokenize(*text, /*add_special=*/true, /*parse_special=*/true);
        } else {
            ids = std::get<std::vector<int32_t>>(std::move(prompt));
        }
        check_prompt_fits(ids.size(), ctx.limits(), "prompt");
        run_generation(ctx, req, res, std::move(ids), opt,
                       make_text_completion_format({ctx.model_id(), opt.return_tokens}));
    });
    svr.Post("/v1/completions", completions);
    svr.Post("/completions", completions);

    auto models = guarded(ctx, "/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) {
        const auto& hp = ctx.target().hparams();
        json model = {{"id", ctx.model_id()},
                      {"object", "model"},
                      {"created", ctx.created()},
                      {"owned_by", "leapfrog"},
                      {"meta",
                       {{"n_ctx", ctx.config().n_ctx},
                        {"n_ctx_slot", ctx.limits().n_ctx_slot},
                        {"n_slots", ctx.config().n_slots},
                        {"n_vocab", hp.n_vocab},
                        {"n_embd", hp.n_embd},
                        {"mtp", ctx.has_head()},
                        {"draft_max", ctx.limits().spec.draft_max}}}};
        res.set_content(dump_json({{"object", "list"}, {"data", json::array({model})}}), "application/json");
    });
    svr.Get("/v1/models", models);
    svr.Get("/models", models);
}

}  // namespace lf::server
