// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_serve(int, char**) { lf::fail("'serve' is not available in this build yet"); }
