// leapfrog convert HF_DIR -o OUT.gguf [--outtype f32|f16|bf16|q8_0|q4_0] [--vocab-only] [--no-centroids]
// Converts a Hugging Face Gemma 4 target or assistant checkpoint to GGUF. Progress goes to
// stderr only when stderr is a terminal.
#include <unistd.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "convert/gemma4-convert.h"
#include "core/error.h"

int lf::tools::cmd_convert(int argc, char** argv) {
    CLI::App app{"Convert a Hugging Face Gemma 4 checkpoint (target or assistant) to GGUF.", "leapfrog convert"};
    std::string hf_dir, out, outtype = "f16", name;
    bool vocab_only = false, no_centroids = false;
    int threads = 0;
    app.add_option("HF_DIR", hf_dir, "directory with config.json and model.safetensors (or shards)")->required();
    app.add_option("-o,--outfile", out, "output GGUF path")->required();
    app.add_option("--outtype", outtype, "tensor type: f32, f16, bf16, q8_0 or q4_0 (default f16)");
    app.add_flag("--vocab-only", vocab_only, "write only the metadata and tokenizer, no tensors");
    app.add_option("--name", name, "general.name (default: from the directory name)");
    app.add_option("-t,--threads", threads, "threads for converting tensors (default: all CPUs)");
    app.add_flag("--no-centroids", no_centroids,
                 "assistants: leave out the centroid head (masked_embd_*), as llama.cpp's converter does");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        lf::fail("{}", e.what());
    }

    lf::convert_options opt;
    auto type = lf::dtype_from_name(outtype);
    if (!type) lf::fail("--outtype '{}' is not one of f32, f16, bf16, q8_0, q4_0", outtype);
    opt.outtype = *type;
    opt.vocab_only = vocab_only;
    opt.name = name;
    opt.n_threads = threads;
    opt.no_centroids = no_centroids;

    const bool tty = isatty(STDERR_FILENO) != 0;
    lf::convert_hf_to_gguf(hf_dir, out, opt, [&](size_t i, size_t n, const lf::planned_tensor& t) {
        if (!tty) return;
        int width = static_cast<int>(std::to_string(n).size());
        std::string shape;
        for (size_t d = 0; d < t.ne.size(); ++d) shape += (d ? ", " : "") + std::to_string(t.ne[d]);
        std::fprintf(stderr, "[%*zu/%zu] %-40s %-4s [%s]\n", width, i + 1, n, t.name.c_str(),
                     std::string(lf::traits(t.type).name).c_str(), shape.c_str());
    });
    if (tty) std::fprintf(stderr, "wrote %s\n", out.c_str());
    return 0;
}
