// Placeholder: replaced by the kernel module's owner.
#include "cli/commands.h"

namespace ktstr::cli {
void add_kernel_command(CLI::App&, Runner&) {}
}  // namespace ktstr::cli
