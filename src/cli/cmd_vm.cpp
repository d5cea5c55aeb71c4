// Placeholder: replaced by the vm integration.
#include "cli/commands.h"

namespace ktstr::cli {
void add_vm_commands(CLI::App&, Runner&) {}
}  // namespace ktstr::cli
