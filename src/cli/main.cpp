// ktstr: boot a kernel under a topology given as code, run a scheduler
// scenario in it, and judge the result.
#include <cstdio>

#include "cli/commands.h"
#include "util/interrupt.h"

int main(int argc, char** argv) {
  CLI::App app{"ktstr - test Linux process schedulers in real kernels under chosen topologies",
               "ktstr"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", "ktstr 0.1.0");
  ktstr::cli::Runner run;
  ktstr::cli::add_topo_command(app, run);
  ktstr::cli::add_kernel_command(app, run);
  ktstr::cli::add_vm_commands(app, run);
  ktstr::cli::add_test_commands(app, run);
  CLI11_PARSE(app, argc, argv);

  if (!run) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  ktstr::install_interrupt_handlers();
  auto result = run();
  if (!result.ok()) {
    std::fprintf(stderr, "ktstr: error: %s\n", result.error().message().c_str());
    auto code = result.error().code();
    // 2: the input was wrong (fix the command line); 1: the run failed.
    return code == ktstr::Errc::kInvalidArgument || code == ktstr::Errc::kNotFound ? 2 : 1;
  }
  return *result;
}
