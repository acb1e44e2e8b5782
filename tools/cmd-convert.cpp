// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_convert(int, char**) { lf::fail("'convert' is not available in this build yet"); }
