// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_quantize(int, char**) { lf::fail("'quantize' is not available in this build yet"); }
