// The leapfrog subcommands. Each lives in its own file tools/cmd-<name>.cpp and receives the
// arguments after the subcommand name (argv[0] is "leapfrog <name>").
#pragma once

namespace lf::tools {
int cmd_convert(int argc, char** argv);
int cmd_quantize(int argc, char** argv);
int cmd_logits(int argc, char** argv);
int cmd_generate(int argc, char** argv);
int cmd_draft(int argc, char** argv);
int cmd_tokenize(int argc, char** argv);
int cmd_detokenize(int argc, char** argv);
int cmd_chat_template(int argc, char** argv);
int cmd_serve(int argc, char** argv);
int cmd_bench(int argc, char** argv);
int cmd_synth(int argc, char** argv);
}  // namespace lf::tools
