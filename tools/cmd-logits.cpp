// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_logits(int, char**) { lf::fail("'logits' is not available in this build yet"); }
