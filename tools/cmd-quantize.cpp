// leapfrog quantize IN.gguf OUT.gguf q8_0|q4_0
// Requantizes an f32/f16/bf16 GGUF with llama-quantize's per-tensor policy. Progress goes to
// stderr only when stderr is a terminal.
#include <unistd.h>

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "convert/gguf-quantize.h"
#include "core/error.h"

int lf::tools::cmd_quantize(int argc, char** argv) {
    CLI::App app{"Quantize a GGUF file to q8_0 or q4_0 (norms, router and small tensors stay as they are).",
                 "leapfrog quantize"};
    std::string in, out, type_name;
    lf::quantize_options opt;
    app.add_option("IN", in, "input GGUF (f32, f16 or bf16 weights)")->required();
    app.add_option("OUT", out, "output GGUF")->required();
    app.add_option("TYPE", type_name, "q8_0 or q4_0")->required();
    app.add_flag("--allow-requantize", opt.allow_requantize, "also convert tensors that are already quantized");
    app.add_option("-t,--threads", opt.n_threads, "threads (default: all CPUs)");
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        lf::fail("{}", e.what());
    }
    auto type = lf::dtype_from_name(type_name);
    if (!type || (*type != lf::dtype::q8_0 && *type != lf::dtype::q4_0))
        lf::fail("TYPE '{}' is not q8_0 or q4_0", type_name);

    const bool tty = isatty(STDERR_FILENO) != 0;
    lf::quantize_gguf(in, out, *type, opt, [&](size_t i, size_t n, const lf::quantize_step& s) {
        if (!tty) return;
        int width = static_cast<int>(std::to_string(n).size());
        std::string shape;
        for (size_t d = 0; d < s.ne.size(); ++d) shape += (d ? ", " : "") + std::to_string(s.ne[d]);
        std::fprintf(stderr, "[%*zu/%zu] %-40s %-4s -> %-4s [%s]\n", width, i + 1, n, s.name.c_str(),
                     std::string(lf::traits(s.from).name).c_str(), std::string(lf::traits(s.to).name).c_str(),
                     shape.c_str());
    });
    if (tty) std::fprintf(stderr, "wrote %s\n", out.c_str());
    return 0;
}
