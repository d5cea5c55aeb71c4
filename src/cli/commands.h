// The ktstr subcommands. Each add_* registers its CLI11 subcommand on `app`
// and, when that subcommand is chosen, sets `run` to the code that does the
// work. main() calls `run` and is the only place that maps errors to exit codes.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "util/result.h"

namespace ktstr::cli {

// Returns the process exit status on success.
using Runner = std::function<Result<int>()>;

void add_topo_command(CLI::App& app, Runner& run);     // cmd_topo.cpp
void add_kernel_command(CLI::App& app, Runner& run);   // cmd_kernel.cpp
void add_vm_commands(CLI::App& app, Runner& run);      // cmd_vm.cpp: vm, shell
void add_test_commands(CLI::App& app, Runner& run);    // cmd_test.cpp: test, run, list, show-thresholds, cleanup

}  // namespace ktstr::cli
