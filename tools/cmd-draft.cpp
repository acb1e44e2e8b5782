// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_draft(int, char**) { lf::fail("'draft' is not available in this build yet"); }
