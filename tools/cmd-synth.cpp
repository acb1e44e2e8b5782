// leapfrog synth CONFIG.json -o OUT.gguf [--type q4_0|q8_0|f16|f32] [--seed S] [--layers N] [--vocab V]
// Writes a random-weight Gemma 4 target or assistant at the shapes of a Hugging Face config.json
// (e.g. tests/data/configs/gemma-4-e2b.json), loadable by leapfrog and llama.cpp. --layers and
// --vocab shrink a model for tests; --no-centroids leaves out an assistant's centroid head (for
// llama.cpp, which cannot load it); --dry-run prints the plan (tensors, types, bytes) as JSON
// without writing. Progress goes to stderr only when stderr is a terminal.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli-util.h"
#include "commands.h"
#include "convert/synth-model.h"
#include "core/error.h"

int lf::tools::cmd_synth(int argc, char** argv) {
    CLI::App app{"Write a random-weight Gemma 4 model (target or assistant) at the shapes of a config.json.",
                 "leapfrog synth"};
    std::string config, out, type_name = "q4_0", name;
    int64_t layers = 0, vocab = 0;
    uint64_t seed = 0;
    int threads = 0;
    bool dry_run = false;
    app.add_option("CONFIG", config, "Hugging Face config.json of a Gemma 4 model or assistant")->required();
    app.add_option("-o,--outfile", out, "output GGUF path")->required();
    app.add_option("--type,--outtype", type_name, "file type: q4_0, q8_0, f16, bf16 or f32 (default q4_0)");
    app.add_option("--seed", seed, "random seed (default 0)");
    app.add_option("--layers", layers, "keep only the last N layers (default: all)")->check(CLI::PositiveNumber);
    app.add_option("--vocab", vocab, "vocabulary size (default: the config's)")->check(CLI::PositiveNumber);
    app.add_option("--name", name, "general.name (default: from the config's file name)");
    app.add_option("-t,--threads", threads, "threads (default: all CPUs)")->check(CLI::PositiveNumber);
    bool no_centroids = false;
    app.add_flag("--no-centroids", no_centroids,
                 "assistants: leave out the centroid head (masked_embd_*), which llama.cpp cannot load");
    app.add_flag("--dry-run", dry_run, "print the plan as JSON and write nothing");
    if (int rc = parse_cli(app, argc, argv); rc >= 0) return rc;

    synth_options opt;
    auto type = dtype_from_name(type_name);
    if (!type) fail("--type '{}' is not one of q4_0, q8_0, f16, bf16, f32", type_name);
    opt.type = *type;
    opt.seed = seed;
    opt.n_layers = layers;
    opt.n_vocab = vocab;
    opt.name = name;
    opt.n_threads = threads;
    opt.centroids = !no_centroids;

    if (dry_run) {
        std::ifstream in(config);
        if (!in) fail("cannot open config '{}'", config);
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            fail("{}: not valid JSON: {}", config, e.what());
        }
        synth_plan p = plan_synth(j, config, opt);
        nlohmann::json tensors = nlohmann::json::array();
        double total = 0;
        for (const auto& t : p.tensors) {
            int64_t rows = 1;
            for (size_t d = 1; d < t.ne.size(); ++d) rows *= t.ne[d];
            const double bytes = static_cast<double>(row_bytes(t.type, t.ne[0])) * static_cast<double>(rows);
            total += bytes;
            tensors.push_back({{"name", t.name}, {"type", std::string(traits(t.type).name)}, {"ne", t.ne}, {"bytes", bytes}});
        }
        nlohmann::json out = {{"architecture", gguf_arch(p.config)},
                              {"n_layer", p.config.text.n_layer},
                              {"n_kv_shared_layers", p.config.text.n_kv_shared_layers},
                              {"n_vocab", p.config.text.vocab_size},
                              {"n_tensors", p.tensors.size()},
                              {"tensor_bytes", total},
                              {"tensors", tensors}};
        std::printf("%s\n", out.dump().c_str());
        return 0;
    }
    const bool tty = isatty(STDERR_FILENO) != 0;
    const auto t0 = std::chrono::steady_clock::now();
    synth_model(config, out, opt, [&](size_t i, size_t n, const planned_tensor& t) {
        if (!tty) return;
        std::string shape;
        for (size_t d = 0; d < t.ne.size(); ++d) shape += (d ? ", " : "") + std::to_string(t.ne[d]);
        std::fprintf(stderr, "[%zu/%zu] %-40s %-4s [%s]\n", i + 1, n, t.name.c_str(), std::string(traits(t.type).name).c_str(),
                     shape.c_str());
    });
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "wrote %s in %.1f s\n", out.c_str(), s);
    return 0;
}
