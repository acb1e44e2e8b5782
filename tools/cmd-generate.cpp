// leapfrog generate: one sequence through the engine, optionally speculating with an MTP head.
// Prints the text (or, with --json, one object with tokens, text and speculation stats) on
// stdout and the stats on stderr.
#include <nlohmann/json.hpp>

#include "cli-util.h"
#include "commands.h"
#include "engine/engine.h"
#include "tokenizer-bridge.h"

int lf::tools::cmd_generate(int argc, char** argv) {
    CLI::App app{"Generate tokens from a prompt (optionally with an MTP head)", "leapfrog generate"};
    std::string model_path, head_path, prompt, tokens_arg;
    int n_predict = 64, threads = default_thread_count(), n_ctx = 4096;
    sampling_params sp;
    spec_params spec;
    bool json = false, ignore_eos = false, no_bos = false;
    app.add_option("-m,--model", model_path, "target GGUF")->required();
    app.add_option("--mtp,--mtp-head,--model-draft", head_path, "assistant (MTP) head GGUF");
    auto* p_opt = app.add_option("-p,--prompt", prompt, "prompt text");
    auto* t_opt = app.add_option("--tokens", tokens_arg, "prompt as comma-separated token ids");
    p_opt->excludes(t_opt);
    app.add_option("-n,--n-predict", n_predict, "tokens to generate")->check(CLI::NonNegativeNumber);
    app.add_option("--temp,--temperature", sp.temperature, "temperature (0 = greedy)")->check(CLI::NonNegativeNumber);
    app.add_option("--top-k", sp.top_k, "top-k (0 = off)")->check(CLI::NonNegativeNumber);
    app.add_option("--top-p", sp.top_p, "top-p (1 = off)")->check(CLI::Range(0.0, 1.0));
    app.add_option("--min-p", sp.min_p, "min-p (0 = off)")->check(CLI::Range(0.0, 1.0));
    app.add_option("--seed", sp.seed, "sampling seed");
    app.add_option("--draft-max,--spec-draft-n-max,--mtp-draft-n", spec.draft_max, "max drafts per round")
        ->check(CLI::Range(0, 32));
    app.add_option("--draft-min,--spec-draft-n-min", spec.draft_min, "discard drafts shorter than this")
        ->check(CLI::Range(0, 32));
    app.add_option("--draft-p-min,--spec-draft-p-min", spec.draft_p_min, "stop drafting below this top-1 probability")
        ->check(CLI::Range(0.0, 1.0));
    app.add_option("-c,--ctx-size", n_ctx, "context size")->check(CLI::Range(16, 1 << 24));
    app.add_option("-t,--threads", threads, "threads")->check(CLI::PositiveNumber);
    file_load load = file_load::map;
    add_weight_memory_flags(app, load);
    app.add_flag("--ignore-eos", ignore_eos, "do not stop at end-of-generation tokens");
    app.add_flag("--no-bos", no_bos, "do not prepend <bos> to a text prompt");
    app.add_flag("--json", json, "print one JSON object");
    if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;
    if (prompt.empty() && tokens_arg.empty()) fail("give a prompt with -p TEXT or --tokens IDS");

    gemma4_model target(model_path, load);
    std::unique_ptr<gemma4_assistant> head;
    if (!head_path.empty()) head = std::make_unique<gemma4_assistant>(head_path, target, load);
    text_codec codec(target.file());

    gen_request req;
    req.prompt = tokens_arg.empty() ? codec.encode(prompt, !no_bos) : parse_token_list(tokens_arg);
    req.max_tokens = n_predict;
    req.sampling = sp;
    req.spec = spec;
    req.spec.enabled = head != nullptr;
    req.eog = codec.eog_tokens();
    req.ignore_eos = ignore_eos;
    const int n_ctx_needed = static_cast<int>(req.prompt.size()) + n_predict + spec.draft_max + 2;
    engine_params ep;
    ep.n_slots = 1;
    ep.n_ctx = std::max(n_ctx, n_ctx_needed);
    ep.n_threads = threads;
    ep.n_batch = 512;
    engine eng(target, head.get(), ep);
    gen_result result;
    req.on_done = [&](const gen_result& r) { result = r; };
    eng.submit(std::move(req));
    eng.run_until_idle();

    const gen_stats& st = result.stats;
    std::string text = codec.decode(result.tokens);
    double rate = st.n_drafted ? static_cast<double>(st.n_accepted) / st.n_drafted : 0.0;
    std::vector<double> rate_by_pos;
    for (size_t i = 0; i < st.drafted_per_pos.size(); ++i)
        rate_by_pos.push_back(st.drafted_per_pos[i] ? static_cast<double>(st.accepted_per_pos[i]) / st.drafted_per_pos[i] : 0.0);
    double mean_accepted = st.n_rounds ? static_cast<double>(st.n_accepted) / st.n_rounds : 0.0;
    double prompt_tps = st.t_prompt_ms > 0 ? st.n_prompt * 1000.0 / st.t_prompt_ms : 0.0;
    double gen_tps = st.t_gen_ms > 0 ? (st.n_gen - 1) * 1000.0 / st.t_gen_ms : 0.0;
    std::fprintf(stderr,
                 "prompt: %d tokens, %.1f ms (%.1f tok/s) | generated: %d tokens, %.1f ms (%.1f tok/s) | "
                 "drafted %d, accepted %d (%.3f), mean accepted per round %.2f, finish: %s\n",
                 st.n_prompt, st.t_prompt_ms, prompt_tps, st.n_gen, st.t_gen_ms, gen_tps, st.n_drafted, st.n_accepted,
                 rate, mean_accepted, result.finish_reason.c_str());
    if (json) {
        nlohmann::json j = {{"tokens", result.tokens},
                            {"text", text},
                            {"n_drafted", st.n_drafted},
                            {"n_accepted", st.n_accepted},
                            {"acceptance_rate", rate},
                            {"acceptance_by_pos", rate_by_pos},
                            {"mean_accepted_per_round", mean_accepted},
                            {"n_prompt", st.n_prompt},
                            {"t_prompt_ms", st.t_prompt_ms},
                            {"t_gen_ms", st.t_gen_ms},
                            {"prompt_tok_s", prompt_tps},
                            {"gen_tok_s", gen_tps},
                            {"finish_reason", result.finish_reason}};
        std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
        std::printf("%s\n", text.c_str());
    }
    return 0;
}
