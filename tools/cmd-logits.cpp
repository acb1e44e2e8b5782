// leapfrog logits: one forward over the tokens (in chunks of --ubatch) and the logits of every
// row as float32 .npy [n_tokens, n_vocab], exactly as sampling sees them (soft-capped).
#include "cli-util.h"
#include "commands.h"
#include "core/npy.h"
#include "model/gemma4.h"

int lf::tools::cmd_logits(int argc, char** argv) {
    CLI::App app{"Write the logits of one forward pass as .npy", "leapfrog logits"};
    std::string model_path, tokens_arg, out_path;
    int ubatch = 0, threads = default_thread_count();
    app.add_option("-m,--model", model_path, "target GGUF")->required();
    app.add_option("--tokens", tokens_arg, "comma-separated token ids")->required();
    app.add_option("-o,--output", out_path, "output .npy")->required();
    app.add_option("--ubatch", ubatch, "evaluate in chunks of this many tokens (default: all at once)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("-t,--threads", threads, "threads")->check(CLI::PositiveNumber);
    file_load load = file_load::map;
    add_weight_memory_flags(app, load);
    if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;

    std::vector<int32_t> tokens = parse_token_list(tokens_arg);
    gemma4_model model(model_path, load);
    const int n = static_cast<int>(tokens.size());
    if (ubatch <= 0) ubatch = n;
    thread_pool pool(threads);
    kv_cache kv = model.make_cache(1, n, ubatch);
    const int64_t V = model.hparams().n_vocab;
    std::vector<float> logits((size_t)n * V);  // f32 [n, V]
    forward_output out;
    for (int i0 = 0; i0 < n; i0 += ubatch) {
        std::vector<batch_row> batch;
        for (int i = i0; i < std::min(n, i0 + ubatch); ++i) batch.push_back({tokens[i], i, 0, true});
        model.forward(batch, kv, out, false, pool);
        std::copy(out.logits.begin(), out.logits.end(), logits.begin() + (size_t)i0 * V);
    }
    write_npy_f32(out_path, logits.data(), {n, V});
    return 0;
}
