// The scenario engine: runs a Scenario for real — cgroups, cpusets, worker
// processes, ops over time — and returns the workers' reports for the
// checks. The same engine runs inside the VM (driven by ktstr-guest, which
// turns its events into wire frames) and on the host (`ktstr run`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenario/model.h"
#include "topology/topology.h"
#include "util/result.h"
#include "workload/report.h"

namespace ktstr::scenario {

// One step began (index 0 = the backdrop baseline, 1..N = steps).
struct StepEvent {
  uint32_t step_index = 0;
  uint32_t op_count = 0;
  uint32_t cgroup_count = 0;
  uint32_t worker_count = 0;
  uint64_t total_iterations = 0;  // all workers, so far
  uint64_t at_ms = 0;             // since the scenario started
};

struct EngineEvents {
  std::function<void(const std::string& scenario, uint64_t duration_ms)> on_start;
  // As each step begins, before its ops run (counts as of that moment);
  // step 0 is the backdrop, once it is up.
  std::function<void(const StepEvent&)> on_step;
  std::function<void()> on_end;
  std::function<void(std::string_view)> log;  // notes and op failures, one line each
};

// Host requests: what snapshot, watch-snapshot, kernel-read and
// kernel-write ops ask of the host monitor (VM runs only; the guest agent
// fills them, see guest/host_channel.h). Each blocks until the host
// answers or its deadline passes; an error (the host's refusal or no
// answer) is recorded in ScenarioRun::host_requests and the run goes on.
// Unset (host runs): the op is noted "needs a VM (host monitor)" and skipped.
using SnapshotFn = std::function<Result<std::string>(const std::string& name)>;  // -> host's note
using WatchFn = std::function<Result<std::string>(const std::string& symbol)>;   // -> host's note
using KernelOpFn = std::function<Result<uint64_t>(const KernelOpSpec& op)>;      // -> value read (0 for writes)

struct EngineConfig {
  topo::Topology topology;  // what cpuset specs resolve against
  std::filesystem::path cgroup_mount = "/sys/fs/cgroup";
  std::filesystem::path scratch_dir = "/tmp";  // io work types write here
  // Polled during holds; true ends the run early (Ctrl-C, scheduler death).
  std::function<bool()> should_stop;
  SnapshotFn snapshot;
  WatchFn watch;
  KernelOpFn kernel_op;
};

// One host request an op made, as the run records it.
struct HostRequest {
  std::string op;    // "snapshot", "watch-snapshot", "kernel-read", "kernel-write"
  std::string tag;   // snapshot name, watched symbol, or the kernel op's tag
  uint32_t step = 0; // step index in force (1..N)
  bool ok = false;
  std::optional<uint64_t> value;  // kernel-read results
  std::string detail;             // the host's note on success
  std::string error;              // why it failed (host's reason, timeout)
  bool operator==(const HostRequest&) const = default;
};
// Loop steps can repeat host ops for a long time: records beyond this are
// counted in ScenarioRun::host_requests_dropped instead of kept.
inline constexpr size_t kMaxHostRequests = 4096;

// A cgroup as the checks need it: every CPU it was ever allowed (the union
// of its cpusets over its life; empty = unconfined at some point) and the
// NUMA nodes its memory policy names.
struct CgroupRecord {
  std::string name;
  std::string cpus_allowed;  // cpu list, "" = not confined
  std::vector<uint32_t> numa_nodes;
  uint32_t workers = 0;
};

struct ScenarioRun {
  std::string scenario;
  bool skipped = false;
  std::string skip_reason;
  bool stopped_early = false;
  uint64_t duration_ms = 0;  // planned
  uint64_t elapsed_ms = 0;   // actual
  std::vector<StepEvent> steps;
  std::vector<CgroupRecord> cgroups;
  std::vector<workload::WorkerReport> reports;
  std::vector<std::string> errors;  // ops that failed (the run fails with them)
  std::vector<std::string> notes;
  std::vector<HostRequest> host_requests;  // in request order, at most kMaxHostRequests
  uint64_t host_requests_dropped = 0;
  // What the agent saw of the scheduler under test (attach, death, log
  // tail); filled by the guest agent, null under EEVDF. Untrusted: the host
  // reads it defensively.
  nlohmann::json scheduler;
};

// Runs `s` to completion. Errors are for a run that could not start (no
// cgroup v2, a bad cpuset for this topology); failures during the run are
// recorded in ScenarioRun::errors so the reports collected so far survive.
Result<ScenarioRun> run_scenario(const Scenario& s, const EngineConfig& config,
                                 const EngineEvents& events = {});

// Wire form (TEST_RESULT payload). Wake-latency samples are thinned to at
// most kMaxWakeSamplesOnWire per worker to bound the frame.
inline constexpr size_t kMaxWakeSamplesOnWire = 4096;
nlohmann::json to_json(const ScenarioRun& run);
// Tolerant of missing fields, strict on types: the guest is untrusted.
Result<ScenarioRun> scenario_run_from_json(const nlohmann::json& j);

}  // namespace ktstr::scenario
