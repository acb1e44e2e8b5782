// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_detokenize(int, char**) { lf::fail("'detokenize' is not available in this build yet"); }
