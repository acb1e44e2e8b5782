// leapfrog draft: the target evaluates tokens[0 .. L-2]; tokens[L-1] is the last sampled token;
// the MTP head drafts n steps at position L-1 (spec §3.7). Writes f32 [n, n_vocab] logits and
// prints {"draft_tokens": [...]}.
#include <nlohmann/json.hpp>

#include "cli-util.h"
#include "commands.h"
#include "core/npy.h"
#include "model/gemma4-assistant.h"
#include "sampling/sampler.h"

int lf::tools::cmd_draft(int argc, char** argv) {
    CLI::App app{"Run the MTP head's draft steps and write their logits", "leapfrog draft"};
    std::string model_path, head_path, tokens_arg, out_path;
    int n_steps = 4, threads = default_thread_count();
    bool dense = false;
    app.add_option("-m,--model", model_path, "target GGUF")->required();
    app.add_option("--mtp,--mtp-head,--model-draft", head_path, "assistant head GGUF")->required();
    app.add_option("--tokens", tokens_arg, "comma-separated token ids (at least 2)")->required();
    app.add_option("-n", n_steps, "draft steps")->check(CLI::Range(1, 64));
    app.add_option("-o,--output", out_path, "output .npy")->required();
    app.add_option("-t,--threads", threads, "threads")->check(CLI::PositiveNumber);
    app.add_flag("--dense-head", dense, "score every token even when the head has centroids");
    file_load load = file_load::map;
    add_weight_memory_flags(app, load);
    if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;

    std::vector<int32_t> tokens = parse_token_list(tokens_arg);
    if (tokens.size() < 2) fail("draft needs at least 2 tokens (a context and the last sampled token)");
    gemma4_model target(model_path, load);
    gemma4_assistant head(head_path, target, load);
    head.set_use_centroids(!dense);
    const int L = static_cast<int>(tokens.size());
    thread_pool pool(threads);
    kv_cache kv = target.make_cache(1, L + 1, L);
    std::vector<batch_row> batch;
    for (int i = 0; i < L - 1; ++i) batch.push_back({tokens[i], i, 0, i == L - 2});
    forward_output fo;
    target.forward(batch, kv, fo, true, pool);
    const int64_t V = target.hparams().n_vocab, B = target.hparams().n_embd;
    std::vector<float> h(fo.hidden.begin(), fo.hidden.begin() + B);  // f32 [B]
    std::vector<float> logits((size_t)n_steps * V);                 // f32 [n, V]
    std::vector<int32_t> drafted;
    int32_t tok = tokens[L - 1];
    draft_output out;
    for (int s = 0; s < n_steps; ++s) {
        head.step({{tok, L - 1, 0, h.data()}}, kv, out, pool);
        std::copy_n(out.logits.data(), V, &logits[(size_t)s * V]);
        tok = argmax(out.logits.data(), V);
        drafted.push_back(tok);
        h.assign(out.h_next.begin(), out.h_next.begin() + B);
    }
    write_npy_f32(out_path, logits.data(), {n_steps, V});
    std::printf("%s\n", nlohmann::json{{"draft_tokens", drafted}}.dump().c_str());
    return 0;
}
