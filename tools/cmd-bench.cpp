// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_bench(int, char**) { lf::fail("'bench' is not available in this build yet"); }
