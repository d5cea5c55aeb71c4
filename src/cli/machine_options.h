// The options every VM-booting subcommand shares (vm, shell, test) and how
// they become a runner::VmRunRequest.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "runner/vm_run.h"
#include "util/result.h"

namespace ktstr::cli {

inline constexpr const char* kDefaultTopology = "1n2l2c1t";

struct MachineOptions {
  std::string kernel;
  std::string topology;
  std::string preset;
  uint64_t memory_mb = 0;
  std::string accel = "auto";
  bool nokaslr = false;
  std::vector<std::string> includes;
  unsigned boot_timeout_s = 0;
  unsigned timeout_s = 0;
  bool verbose = false;
};

void add_machine_options(CLI::App* cmd, MachineOptions& o);

// Validates and translates; the request's spec and output callbacks are
// left for the caller. Guest stdout/stderr go to ours unless replaced.
Result<runner::VmRunRequest> machine_request(const MachineOptions& o);

}  // namespace ktstr::cli
