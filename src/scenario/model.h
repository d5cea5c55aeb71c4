// The scenario model: what a scheduler test does, as plain data. A Scenario
// is a backdrop of cgroups that live for the whole run plus a list of steps,
// each a batch of ops followed by a hold. Every field can be written in a
// scenario file (toml_parser.h reads them, toml_writer.h writes them back);
// the engine (engine.h) runs them. Topology-dependent values (cpuset specs,
// scaled worker counts) are kept symbolic here and resolved against the VM's
// topology at run time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "scenario/assertion.h"
#include "scenario/values.h"
#include "topology/cpuset.h"
#include "topology/cpuset_spec.h"
#include "topology/topology.h"
#include "util/result.h"
#include "workload/work_spec.h"

namespace ktstr::scenario {

// A cgroup and the workers it runs. Nested cgroups have path names
// ("parent/child"); a cgroup with children runs no workers itself (cgroup v2
// allows processes only in leaves once controllers are enabled below).
struct CgroupDef {
  std::string name;  // full path below the scenario's root cgroup
  WorkerCount workers = WorkerCount::fixed(1);
  workload::WorkSpec work;
  std::optional<topo::CpusetSpec> cpuset;
  Affinity affinity;
  SchedPolicy policy;
  int32_t nice = 0;
  MemPolicy mempolicy;
  std::vector<CgroupDef> children;

  // The last path component.
  std::string_view leaf_name() const;
};

// What a kernel-read / kernel-write op addresses. The host resolves it
// against the guest kernel (wire KERNEL_OP_REQUEST); field rules per target:
//   kSymbol: symbol (+ optional field path into it)
//   kKva:    address (a kernel virtual address, != 0)
//   kPercpu: symbol (a per-CPU variable), field, cpu
//   kTask:   field (into task_struct), pid
struct KernelOpSpec {
  enum class Access { kRead, kWrite };
  enum class Target { kSymbol, kKva, kPercpu, kTask };
  Access access = Access::kRead;
  Target target = Target::kSymbol;
  std::string symbol;
  std::string field;  // e.g. "se.vruntime"
  uint64_t address = 0;
  uint32_t cpu = 0;
  uint32_t pid = 0;
  uint8_t width = 8;   // bytes: 1, 2, 4 or 8
  uint64_t value = 0;  // kWrite; fits in width
  std::string tag;     // names the result in ScenarioRun::host_requests
  bool operator==(const KernelOpSpec&) const = default;
};
std::string_view to_string(KernelOpSpec::Target t);  // "symbol" | "kva" | "percpu" | "task"
Result<KernelOpSpec::Target> parse_kernel_target(std::string_view name);

// ---- Ops: what a step does before its hold. --------------------------------
namespace ops {
struct AddCgroup { CgroupDef cgroup; };
struct RemoveCgroup { std::string cgroup; };  // stops its workers first
struct SetCpuset { std::string cgroup; topo::CpusetSpec cpuset; };
struct ClearCpuset { std::string cgroup; };
struct SwapCpusets { std::string a, b; };
// Adds `count` workers to a cgroup, running `work` (default: the cgroup's).
struct Spawn { std::string cgroup; WorkerCount count; std::optional<workload::WorkSpec> work; };
struct StopCgroup { std::string cgroup; };  // stops its workers, keeps the cgroup
struct SetAffinity { std::string cgroup; Affinity affinity; };
// Workers in the root cgroup, outside every test cgroup (competing load).
struct SpawnHost { WorkerCount count; workload::WorkSpec work; };
struct MoveAllTasks { std::string from, to; };
// An external program, started in `cgroup` (default: the scenario root).
struct RunPayload { std::string name; std::vector<std::string> argv; std::optional<std::string> cgroup; };
struct WaitPayload { std::string name; uint32_t timeout_ms = 0; };
struct KillPayload { std::string name; };
// Host requests (VM runs only; see EngineConfig): the host freezes the VM
// and captures scheduler state under `name`, for [[assert]] tables.
struct Snapshot { std::string name; };
// Asks the host to arm a write watchpoint on kernel symbol `symbol`; each
// hit captures a snapshot ("watch:<symbol>#N").
struct WatchSnapshot { std::string symbol; };
// A read or write of guest kernel memory through the host (KernelOpSpec).
struct KernelRead { KernelOpSpec spec; };
struct KernelWrite { KernelOpSpec spec; };
// TEST ONLY: SIGSTOP worker `worker` of `cgroup`, SIGCONT it duration_ms later.
// Used to prove the gap check catches a stalled worker; never in the catalog.
struct FreezeWorker { std::string cgroup; uint32_t worker = 0; uint32_t duration_ms = 0; };

bool operator==(const AddCgroup&, const AddCgroup&);
bool operator==(const SetCpuset&, const SetCpuset&);
bool operator==(const Spawn&, const Spawn&);
bool operator==(const SpawnHost&, const SpawnHost&);
inline bool operator==(const RemoveCgroup& a, const RemoveCgroup& b) { return a.cgroup == b.cgroup; }
inline bool operator==(const ClearCpuset& a, const ClearCpuset& b) { return a.cgroup == b.cgroup; }
inline bool operator==(const SwapCpusets& a, const SwapCpusets& b) { return a.a == b.a && a.b == b.b; }
inline bool operator==(const StopCgroup& a, const StopCgroup& b) { return a.cgroup == b.cgroup; }
inline bool operator==(const SetAffinity& a, const SetAffinity& b) {
  return a.cgroup == b.cgroup && a.affinity == b.affinity;
}
inline bool operator==(const MoveAllTasks& a, const MoveAllTasks& b) {
  return a.from == b.from && a.to == b.to;
}
inline bool operator==(const RunPayload& a, const RunPayload& b) {
  return a.name == b.name && a.argv == b.argv && a.cgroup == b.cgroup;
}
inline bool operator==(const WaitPayload& a, const WaitPayload& b) {
  return a.name == b.name && a.timeout_ms == b.timeout_ms;
}
inline bool operator==(const KillPayload& a, const KillPayload& b) { return a.name == b.name; }
inline bool operator==(const Snapshot& a, const Snapshot& b) { return a.name == b.name; }
inline bool operator==(const WatchSnapshot& a, const WatchSnapshot& b) { return a.symbol == b.symbol; }
inline bool operator==(const KernelRead& a, const KernelRead& b) { return a.spec == b.spec; }
inline bool operator==(const KernelWrite& a, const KernelWrite& b) { return a.spec == b.spec; }
inline bool operator==(const FreezeWorker& a, const FreezeWorker& b) {
  return a.cgroup == b.cgroup && a.worker == b.worker && a.duration_ms == b.duration_ms;
}
}  // namespace ops

using Op = std::variant<ops::AddCgroup, ops::RemoveCgroup, ops::SetCpuset, ops::ClearCpuset,
                        ops::SwapCpusets, ops::Spawn, ops::StopCgroup, ops::SetAffinity,
                        ops::SpawnHost, ops::MoveAllTasks, ops::RunPayload, ops::WaitPayload,
                        ops::KillPayload, ops::Snapshot, ops::FreezeWorker, ops::WatchSnapshot,
                        ops::KernelRead, ops::KernelWrite>;

// The file name of an op ("add-cgroup", ...), by variant index.
std::string_view op_name(const Op& op);
std::span<const std::string_view> op_names();

// How long a step lasts after its ops ran.
struct Hold {
  enum class Kind {
    kFraction,  // `fraction` of the scenario's duration
    kDuration,  // `duration_ms`
    kLoop,      // re-run the step's ops every `interval_ms`, for a fraction
                // (duration_ms == 0) or a fixed duration_ms
  };
  Kind kind = Kind::kFraction;
  double fraction = 1.0;     // kFraction; kLoop when duration_ms == 0
  uint32_t duration_ms = 0;  // kDuration; kLoop when non-zero
  uint32_t interval_ms = 0;  // kLoop

  static Hold of_fraction(double f) { return {Kind::kFraction, f, 0, 0}; }
  static Hold of_duration_ms(uint32_t ms) { return {Kind::kDuration, 1.0, ms, 0}; }
  static Hold loop(uint32_t interval_ms, double f) { return {Kind::kLoop, f, 0, interval_ms}; }
  // The hold's length for a scenario lasting `scenario_ms`.
  uint64_t resolve_ms(uint64_t scenario_ms) const;
  bool operator==(const Hold&) const = default;
};

struct Step {
  std::vector<Op> ops;
  Hold hold;
  bool operator==(const Step&) const = default;
};

enum class Category { kBasic, kCpuset, kDynamic, kStress, kInteraction, kAffinity, kNested, kPerformance };
std::string_view to_string(Category c);
Result<Category> parse_category(std::string_view name);
std::span<const Category> all_categories();

// What the topology must offer; the engine reports SKIP otherwise.
struct Requirements {
  uint32_t min_cpus = 0;
  uint32_t min_llcs = 0;
  uint32_t min_numa_nodes = 0;
  bool smt = false;  // needs more than one thread per core

  bool empty() const { return *this == Requirements{}; }
  // Why `topo` does not satisfy these ("needs 2 LLCs; 1n1l4c1t has 1"), or nullopt.
  std::optional<std::string> unmet_by(const topo::Topology& topo) const;
  bool operator==(const Requirements&) const = default;
};

// Threshold keys a scenario may set (the check module judges them).
std::span<const std::string_view> known_threshold_keys();
bool is_known_threshold(std::string_view key);

inline constexpr uint32_t kDefaultDurationMs = 5000;
inline constexpr uint32_t kMaxPeriodicSnapshots = 1000;

struct Scenario {
  std::string name;  // [A-Za-z0-9_.-]+
  Category category = Category::kBasic;
  std::string description;  // one line, required
  uint32_t duration_ms = kDefaultDurationMs;
  Requirements requirements;
  std::map<std::string, double> thresholds;
  std::vector<CgroupDef> backdrop;  // live for the whole run
  std::vector<Step> steps;          // none = hold the backdrop for the whole duration
  // Periodic snapshots the host takes over the run (0 = none); the guest
  // only carries the number. Asserts with series = "periodic" judge them.
  uint32_t snapshots = 0;
  // Judged by the host over the snapshots after the run (assertion.h).
  std::vector<SnapshotAssertion> asserts;

  // Run-time overrides (--workers, --work-type, --duration); each returns a
  // modified copy. --workers sets the count of every cgroup that runs
  // workers (backdrop and add-cgroup, at every depth; spawn ops and host
  // workers keep theirs). --work-type gives the same cgroups, and spawn ops
  // that override the work, the default WorkSpec of `type`.
  Result<Scenario> with_workers(uint32_t n) const;
  Scenario with_work_type(workload::WorkType type) const;
  Result<Scenario> with_duration_s(double seconds) const;
};

bool operator==(const CgroupDef& a, const CgroupDef& b);
bool operator==(const Scenario& a, const Scenario& b);
// WorkSpec and CpusetSpec have no operator== of their own; these compare
// what a scenario file can express (CpusetSpec by canonical text).
bool same_work(const workload::WorkSpec& a, const workload::WorkSpec& b);
bool same_cpuset(const topo::CpusetSpec& a, const topo::CpusetSpec& b);

// Names of cgroups, payloads and scenarios: [A-Za-z0-9_.-]+, at most 64
// characters, not "." or "..". `what` names the thing in the message.
Status check_name(std::string_view name, std::string_view what);

// The names an [[assert]] of `s` may refer to (assertion.h).
AssertionContext assertion_context(const Scenario& s);

// Resolves everything topology-dependent once, so a scenario that cannot
// run on `topo` fails before the VM boots: every cpuset spec, exact
// affinity CPUs and memory-policy nodes. Requirements are not checked here
// (unmet ones are a SKIP, see Requirements::unmet_by). Errors name the
// field path, e.g. "step[1].ops[0].cpuset: llc 3 does not exist ...".
Status check_topology(const Scenario& s, const topo::Topology& topo);

}  // namespace ktstr::scenario
