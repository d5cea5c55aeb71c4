// Builders for tests written in C++: cgroups, ops and scenarios as chained
// calls that produce the scenario model (scenario/model.h).
//   ktstr::CgroupDef("a").workers(2).work(ktstr::WorkType::kMixed).cpuset("llc:0")
// String values use the scenario-file syntax (docs/scenarios.md). A bad
// value does not throw: it is kept and turns into a failing test result
// that names the cgroup or op and the field.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "scenario/model.h"
#include "util/result.h"
#include "workload/work_spec.h"

namespace ktstr {

using WorkType = workload::WorkType;
using WorkSpec = workload::WorkSpec;

class CgroupDef {
 public:
  // A leaf name ("a"); for op::add_cgroup also a path below a live cgroup ("p/c").
  explicit CgroupDef(std::string name);

  CgroupDef& workers(uint32_t n);
  CgroupDef& workers(std::string_view scaled);  // "cpus", "2*cpus", "cpus/2", "llcs"
  CgroupDef& work(WorkType type);               // the type's default parameters
  CgroupDef& work(const WorkSpec& spec);
  CgroupDef& cpuset(std::string_view spec);     // "llc:0", "disjoint:1/2", "exact:0-1", ...
  CgroupDef& affinity(std::string_view mode);   // "single-cpu", "random-subset:2", ...
  CgroupDef& policy(std::string_view policy);   // "batch", "idle", "fifo:10", ...
  CgroupDef& nice(int32_t nice);                // -20..19
  CgroupDef& mempolicy(std::string_view policy);  // "bind:0", "interleave:0,1", ...
  // A nested cgroup. A cgroup with children runs no workers itself unless
  // workers() says otherwise (which the model then rejects).
  CgroupDef& child(const CgroupDef& c);

  // The model's cgroup, named `parent`/name when nested; the first bad value
  // as an error naming it.
  Result<scenario::CgroupDef> build(std::string_view parent = "") const;

 private:
  void error(std::string_view field, const Error& e);

  scenario::CgroupDef def_;
  bool workers_set_ = false;
  std::vector<CgroupDef> children_;
  std::vector<std::string> errors_;
};

// One op of a step (see scenario/model.h for what each does).
class Op {
 public:
  // Any model op (scenario::ops::SetCpuset{...}) or scenario::Op is an Op.
  template <typename T>
    requires std::is_constructible_v<scenario::Op, T&&>
  Op(T&& op) : op_(std::forward<T>(op)) {}  // NOLINT: implicit by design
  static Op invalid(std::string error);
  Result<scenario::Op> build() const;

 private:
  scenario::Op op_;
  std::string error_;
};

namespace op {
Op add_cgroup(const CgroupDef& cgroup);
Op remove_cgroup(std::string cgroup);
Op set_cpuset(std::string cgroup, std::string_view spec);
Op clear_cpuset(std::string cgroup);
Op swap_cpusets(std::string a, std::string b);
Op spawn(std::string cgroup, uint32_t count);
Op spawn(std::string cgroup, uint32_t count, const WorkSpec& work);
Op stop_cgroup(std::string cgroup);
Op set_affinity(std::string cgroup, std::string_view affinity);
Op spawn_host(uint32_t count, const WorkSpec& work = workload::default_spec(WorkType::kCpuSpin));
Op move_all_tasks(std::string from, std::string to);
// Test only: SIGSTOP worker `worker` of `cgroup` for duration_ms (proves a check catches a stall).
Op freeze_worker(std::string cgroup, uint32_t worker, uint32_t duration_ms);
// The host freezes the VM and captures snapshot `name` (docs/freeze.md).
Op snapshot(std::string name);
// The host arms a write watchpoint on kernel variable `symbol`.
Op watch_snapshot(std::string symbol);
// Kernel memory through the host: a global of `width` bytes by symbol.
Op kernel_read(std::string symbol, uint8_t width, std::string tag);
Op kernel_write(std::string symbol, uint8_t width, uint64_t value, std::string tag);
}  // namespace op

// Snapshot asserts for TestOptions::asserts, judged by the host after the
// run (paths: freeze/assert.h). One snapshot compared with a value, e.g.
//   ktstr::expect_snapshot("after", "cpus[1].nr_running", scenario::CompareOp::kGe, 1)
// or a series over several snapshots, e.g.
//   ktstr::expect_series({"a", "b"}, "maps[.bss].vtime_now", scenario::AssertKind::kNonDecreasing)
scenario::SnapshotAssertion expect_snapshot(std::string snapshot, std::string path,
                                            scenario::CompareOp op, double value);
scenario::SnapshotAssertion expect_series(std::vector<std::string> snapshots, std::string path,
                                          scenario::AssertKind kind);

// A scenario: a backdrop of cgroups for the whole run, then steps, each a
// batch of ops followed by a hold. No steps = hold the backdrop throughout.
//   ktstr::Scenario({ktstr::CgroupDef("a").workers(2)})
//       .step(0.5)
//       .step(0.5, {ktstr::op::set_cpuset("a", "llc:1")})
class Scenario {
 public:
  Scenario() = default;
  explicit Scenario(std::vector<CgroupDef> backdrop) : backdrop_(std::move(backdrop)) {}

  Scenario& backdrop(const CgroupDef& cgroup);
  // Runs `ops`, then holds for a fraction of the duration.
  Scenario& step(double hold_fraction, std::vector<Op> ops = {});
  // Runs `ops`, then holds for a fixed time.
  Scenario& step_ms(uint32_t hold_ms, std::vector<Op> ops = {});
  // Re-runs `ops` every interval_ms for a fraction of the duration.
  Scenario& loop(uint32_t interval_ms, double hold_fraction, std::vector<Op> ops);
  // Replaces TestOptions::duration_s.
  Scenario& duration_ms(uint32_t ms);
  // What the topology must offer; the test is a SKIP on one that does not.
  Scenario& requires_cpus(uint32_t n);
  Scenario& requires_llcs(uint32_t n);
  Scenario& requires_numa_nodes(uint32_t n);
  Scenario& requires_smt();

  // The model with the test's name and description; `duration_ms` unless
  // duration_ms() was called. Errors name the step, op or cgroup.
  Result<scenario::Scenario> build(std::string name, std::string description,
                                   uint32_t duration_ms) const;

 private:
  struct PendingStep {
    scenario::Hold hold;
    std::vector<Op> ops;
  };
  std::vector<CgroupDef> backdrop_;
  std::vector<PendingStep> steps_;
  uint32_t duration_ms_ = 0;
  scenario::Requirements requirements_;
};

}  // namespace ktstr
