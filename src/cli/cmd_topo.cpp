// Placeholder: replaced by the topo module's owner.
#include "cli/commands.h"

namespace ktstr::cli {
void add_topo_command(CLI::App&, Runner&) {}
}  // namespace ktstr::cli
