// `ktstr vm` and `ktstr shell`: boot a kernel under a topology and run one
// command (or an interactive shell) in it.
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/machine_options.h"
#include "runner/vm_run.h"
#include "util/files.h"
#include "util/subprocess.h"

namespace ktstr::cli {

namespace {

struct VmOptions : MachineOptions {
  std::string report;
  std::string exec;
};

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
  KTSTR_ASSIGN(auto req, machine_request(o));
  req.spec = std::move(spec);
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
