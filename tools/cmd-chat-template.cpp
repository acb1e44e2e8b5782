// Placeholder until the command lands.
#include "commands.h"
#include "core/error.h"

int lf::tools::cmd_chat_template(int, char**) { lf::fail("'chat-template' is not available in this build yet"); }
