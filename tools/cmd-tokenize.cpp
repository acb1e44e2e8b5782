// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_tokenize(int, char**) { lf::fail("'tokenize' is not available in this build yet"); }
