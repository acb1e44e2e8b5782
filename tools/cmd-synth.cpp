// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_synth(int, char**) { lf::fail("'synth' is not available in this build yet"); }
