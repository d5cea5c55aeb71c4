// One scenario as a test: run it (in a fresh VM, or on this host), judge the
// workers' reports with the checks, and produce a PASS/FAIL/SKIP outcome
// with a one-line reason, the details a person reads, and the JSON sidecar.
// The host judges: a guest's own verdict would be a claim, its reports are
// data the host validates and checks itself.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "check/checks.h"
#include "check/thresholds.h"
#include "monitor/checks.h"
#include "runner/vm_run.h"
#include "scenario/engine.h"
#include "scenario/model.h"
#include "scheduler/definition.h"
#include "scheduler/profiles.h"

namespace ktstr::runner {

// The scheduler under test for a run: a definition, the chosen flag
// profile, and (unless it is EEVDF) the host binary to put in the guest.
struct SchedulerChoice {
  scheduler::SchedulerDef def;
  scheduler::Profile profile;
  std::filesystem::path binary;         // empty for eevdf
  std::vector<std::string> extra_args;  // --sched-args, after the profile's
  uint32_t watchdog_timeout_ms = 0;     // passed when the scheduler takes it
  uint32_t attach_timeout_ms = 0;       // 0 = default for the accelerator
  bool is_eevdf() const { return def.builtin_eevdf; }
  // "eevdf", "scx_simple", "scx_simple[fifo]".
  std::string display() const;
};

// `name_or_path` as given to --scheduler, flags as given to --flags.
Result<SchedulerChoice> choose_scheduler(std::string_view name_or_path,
                                         const std::vector<std::string>& flags);
// Puts the scheduler binary into the VM's initramfs and its command line
// into the run spec; nothing for EEVDF.
void load_scheduler(VmRunRequest& vm, const SchedulerChoice& sched);

// Every valid flag profile of a scheduler (--all-profiles).
Result<std::vector<SchedulerChoice>> all_profiles(std::string_view name_or_path);

enum class Verdict { kPass, kFail, kSkip };

struct SnapshotAssertionResult {
  bool passed = false;
  std::string message;  // one line; says what was expected and what was seen
  nlohmann::json detail;
};
std::string_view to_string(Verdict v);

struct TestOutcome {
  std::string scenario;
  Verdict verdict = Verdict::kPass;
  std::string reason;   // one line; empty on PASS
  std::string details;  // failures + stats block (check::format_details)
  std::string topology;
  std::string kernel;
  std::string scheduler = "eevdf";
  std::string accel;  // "tcg", "kvm", "host"
  check::Thresholds thresholds;
  check::Verdict checks;
  scenario::ScenarioRun run;
  std::chrono::milliseconds wall{0};
  std::chrono::milliseconds boot{0};
  // What the guest saw of the scheduler (attach time, death, log tail);
  // null under EEVDF.
  nlohmann::json scheduler_report;
  // What the host saw from outside (VM runs with observation on).
  std::optional<Observation> observation;
  monitor::MonitorVerdict monitor;  // evaluated for sched_ext runs only
  // Snapshot assertions of the scenario, in file order.
  std::vector<SnapshotAssertionResult> assertions;
};

// Defaults, then the scheduler's, then the scenario's own (last set wins).
Result<check::Thresholds> thresholds_for(const scenario::Scenario& s,
                                         const SchedulerChoice* sched = nullptr);

// Judges a finished run.
TestOutcome judge(const scenario::Scenario& s, const scenario::ScenarioRun& run,
                  const check::Thresholds& thresholds, bool emulated, uint32_t cpus);

// Adds what the host observed to a judged run: the monitor's checks
// (sched_ext runs only: "passed scenario but monitor failed: ..."), the
// scenario's snapshot assertions, and on failure the last snapshot.
void judge_observation(const scenario::Scenario& s, const Observation& o, bool sched_ext,
                       bool emulated, TestOutcome& t);

// The outcome of a finished VM run of `s`: the run's TEST_RESULT judged with
// `thresholds` (or a FAIL naming how the VM ended), what the host observed,
// and the run's facts (topology, scheduler, kernel, accelerator, times since
// `t0`). Shared by `ktstr test` and KTSTR_TEST binaries.
TestOutcome judge_vm_run(const scenario::Scenario& s, VmRunResult result,
                         const check::Thresholds& thresholds, const topo::Topology& topology,
                         const SchedulerChoice* sched, std::chrono::steady_clock::time_point t0);

// Runs `s` in a fresh VM described by `vm` (its spec is replaced), under
// `sched` (EEVDF when null).
Result<TestOutcome> run_test_in_vm(const scenario::Scenario& s, VmRunRequest vm,
                                   const SchedulerChoice* sched = nullptr);

// Runs `s` on this host; needs cgroup v2 at `cgroup_mount`.
Result<TestOutcome> run_test_on_host(const scenario::Scenario& s,
                                     const std::filesystem::path& cgroup_mount = "/sys/fs/cgroup");

// The sidecar: scenario, topology, kernel, scheduler, accel, verdict,
// reason, details, checks, stats, timings, run.
nlohmann::json to_json(const TestOutcome& t);

}  // namespace ktstr::runner
