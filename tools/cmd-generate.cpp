// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_generate(int, char**) { lf::fail("'generate' is not available in this build yet"); }
