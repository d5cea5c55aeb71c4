// `ktstr vm` and `ktstr shell`: boot a kernel under a topology and run one
// command (or an interactive shell) in it.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "runner/vm_run.h"
#include "topology/presets.h"
#include "util/files.h"
#include "util/subprocess.h"

namespace ktstr::cli {

namespace {

constexpr const char* kDefaultTopology = "1n2l2c1t";

struct VmOptions {
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
  std::string report;
  std::string exec;
};

void add_machine_options(CLI::App* cmd, VmOptions& o) {
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

Result<topo::Topology> chosen_topology(const VmOptions& o) {
  if (!o.preset.empty()) return topo::preset(o.preset);
  return topo::Topology::parse(o.topology.empty() ? kDefaultTopology : o.topology);
}

std::string hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

nlohmann::json to_json(const runner::VmRunResult& r) {
  nlohmann::json j;
  j["outcome"] = runner::to_string(r.outcome);
  j["exit_status"] = r.exit_status;
  j["reason"] = r.reason;
  j["kernel"] = r.kernel_key;
  j["accel"] = r.accel;
  j["accel_reason"] = r.accel_reason;
  j["kaslr_offset"] = r.kaslr_offset ? nlohmann::json(hex(*r.kaslr_offset)) : nlohmann::json();
  j["phys_base"] = r.phys_base ? nlohmann::json(hex(*r.phys_base)) : nlohmann::json();
  j["frames"] = r.frames_by_type;
  j["sys_rdy_frames"] = r.frames_by_type.count("SYS_RDY") ? r.frames_by_type.at("SYS_RDY") : 0;
  j["crc_failures"] = r.crc_failures;
  j["framing_errors"] = r.framing_errors;
  j["boot_ms"] = r.boot_time.count();
  j["total_ms"] = r.total_time.count();
  j["qemu_argv"] = r.qemu_argv;
  j["console_tail"] = r.console_tail;
  return j;
}

Result<int> run_machine(const VmOptions& o, guest::RunSpec spec) {
  runner::VmRunRequest req;
  KTSTR_ASSIGN(req.topology, chosen_topology(o), o.preset.empty() ? "--topology" : "--preset");
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
  req.spec = std::move(spec);
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
  KTSTR_ASSIGN(auto result, runner::run_vm(req));
  if (o.verbose) std::fprintf(stderr, "ktstr: qemu: %s\n", join_command(result.qemu_argv).c_str());
  if (!o.report.empty())
    KTSTR_TRY(write_file_atomic(o.report, to_json(result).dump(2) + "\n"), "--report");
  if (result.outcome == runner::Outcome::kExited) return result.exit_status;
  return Error(Errc::kFailed, result.reason);
}

}  // namespace

void add_vm_commands(CLI::App& app, Runner& run) {
  auto o = std::make_shared<VmOptions>();
  auto* vm = app.add_subcommand("vm", "Boot a kernel under a topology and run one command in it");
  add_machine_options(vm, *o);
  vm->add_option("--timeout", o->timeout_s, "Seconds the command may run (default: 1800 under TCG, 600 under KVM)");
  vm->add_option("--report", o->report, "Write a JSON summary of the run (outcome, KASLR, timings) to FILE");
  vm->add_option("--exec", o->exec, "Shell command to run in the guest; its exit status is ktstr's")
      ->required();
  vm->callback([&run, o] {
    run = [o]() -> Result<int> {
      guest::RunSpec spec;
      spec.mode = "exec";
      spec.command = o->exec;
      return run_machine(*o, spec);
    };
  });

  auto s = std::make_shared<VmOptions>();
  auto* shell = app.add_subcommand("shell", "Interactive busybox shell in a VM (exit or Ctrl-D ends it)");
  add_machine_options(shell, *s);
  shell->callback([&run, s] {
    run = [s]() -> Result<int> {
      guest::RunSpec spec;
      spec.mode = "shell";
      spec.forward_dmesg = false;
      VmOptions o = *s;
      o.timeout_s = 7 * 24 * 3600;  // a person is at the keyboard: no run timeout
      return run_machine(o, spec);
    };
  });
}

}  // namespace ktstr::cli
