#include "cli/machine_options.h"

#include <cstdio>
#include <filesystem>

#include "topology/presets.h"

namespace ktstr::cli {

void add_machine_options(CLI::App* cmd, MachineOptions& o) {
  cmd->add_option("--kernel", o.kernel,
                  "Kernel image path, cache key or version (default: newest cached)");
  auto* t = cmd->add_option("--topology", o.topology,
                            std::string("Topology NnNlNcNt (default ") + kDefaultTopology + ")");
  cmd->add_option("--preset", o.preset, "Named topology (see `ktstr topo --preset all`)")->excludes(t);
  cmd->add_option("--memory-mb", o.memory_mb, "Guest RAM in MiB (default: 256 + 32 per CPU)");
  cmd->add_option("--accel", o.accel, "auto|kvm|tcg (auto: KVM when it can really run a guest)");
  cmd->add_flag("--nokaslr", o.nokaslr, "Boot with KASLR off");
  cmd->add_option("-i,--include", o.includes,
                  "Host file or directory to copy into the guest under /include (executables also on PATH)");
  cmd->add_option("--boot-timeout", o.boot_timeout_s, "Seconds until the guest agent must be up");
  cmd->add_flag("-v,--verbose", o.verbose, "Show the QEMU command line and the kernel console");
}

Result<runner::VmRunRequest> machine_request(const MachineOptions& o) {
  runner::VmRunRequest req;
  if (!o.preset.empty()) {
    KTSTR_ASSIGN(req.topology, topo::preset(o.preset), "--preset");
  } else {
    KTSTR_ASSIGN(req.topology, topo::Topology::parse(o.topology.empty() ? kDefaultTopology : o.topology),
                 "--topology");
  }
  if (!o.kernel.empty()) req.kernel = o.kernel;
  req.memory_mb = o.memory_mb;
  KTSTR_ASSIGN(req.accel, vm::parse_accel(o.accel), "--accel");
  req.kaslr = !o.nokaslr;
  for (auto& inc : o.includes) {
    std::error_code ec;
    if (!std::filesystem::exists(inc, ec))
      return invalid_argument("--include " + inc + ": no such file or directory");
    req.includes.push_back({std::filesystem::absolute(inc), "", true});
  }
  req.boot_timeout = std::chrono::seconds(o.boot_timeout_s);
  req.run_timeout = std::chrono::seconds(o.timeout_s);
  req.verbose = o.verbose;
  req.on_stdout = [](std::span<const uint8_t> b) {
    std::fwrite(b.data(), 1, b.size(), stdout);
    std::fflush(stdout);
  };
  req.on_stderr = [](std::span<const uint8_t> b) {
    std::fwrite(b.data(), 1, b.size(), stderr);
    std::fflush(stderr);
  };
  if (o.verbose)
    req.on_info = [](std::string_view s) {
      std::fprintf(stderr, "ktstr: %.*s\n", static_cast<int>(s.size()), s.data());
    };
  return req;
}

}  // namespace ktstr::cli
