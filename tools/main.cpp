// leapfrog: one binary, one subcommand per file. Every command exits non-zero with one clear line
// on stderr for bad input.
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "commands.h"
#include "core/error.h"

namespace {

struct command {
    const char* name;
    int (*run)(int, char**);
    const char* help;
};

const command k_commands[] = {
    {"serve", lf::tools::cmd_serve, "OpenAI-compatible HTTP server with parallel slots and MTP"},
    {"generate", lf::tools::cmd_generate, "generate tokens from a prompt (optionally with an MTP head)"},
    {"convert", lf::tools::cmd_convert, "convert a Hugging Face Gemma 4 checkpoint to GGUF"},
    {"quantize", lf::tools::cmd_quantize, "requantize a GGUF file to q8_0 or q4_0"},
    {"tokenize", lf::tools::cmd_tokenize, "print the token ids of a text as JSON"},
    {"detokenize", lf::tools::cmd_detokenize, "print the text of token ids"},
    {"chat-template", lf::tools::cmd_chat_template, "render messages in the Gemma 4 chat format"},
    {"logits", lf::tools::cmd_logits, "write the logits of one forward pass as .npy"},
    {"draft", lf::tools::cmd_draft, "run the MTP head's draft steps and write their logits"},
    {"bench", lf::tools::cmd_bench, "benchmark a server (--url) or the engine in process (--local)"},
    {"synth", lf::tools::cmd_synth, "write a random-weight model of a published shape"},
};

void usage() {
    std::fprintf(stderr, "usage: leapfrog <command> [options]\n\ncommands:\n");
    for (const auto& c : k_commands) std::fprintf(stderr, "  %-14s %s\n", c.name, c.help);
    std::fprintf(stderr, "\nRun 'leapfrog <command> --help' for a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
        usage();
        return argc < 2 ? 1 : 0;
    }
    for (const auto& c : k_commands) {
        if (std::strcmp(argv[1], c.name) != 0) continue;
        std::string prog = std::string("leapfrog ") + c.name;
        argv[1] = prog.data();
        try {
            return c.run(argc - 1, argv + 1);
        } catch (const lf::error& e) {
            std::fprintf(stderr, "leapfrog %s: error: %s\n", c.name, e.what());
            return 1;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "leapfrog %s: error: %s\n", c.name, e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "leapfrog: unknown command '%s'\n", argv[1]);
    usage();
    return 1;
}
