// The scenario engine: runs a Scenario for real — cgroups, cpusets, worker
// processes, ops over time — and returns the workers' reports for the
// checks. The same engine runs inside the VM (driven by ktstr-guest, which
// turns its events into wire frames) and on the host (`ktstr run`).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
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
  std::function<void(const StepEvent&)> on_step;
  std::function<void()> on_end;
  std::function<void(std::string_view)> log;  // notes and op failures, one line each
};

struct EngineConfig {
  topo::Topology topology;  // what cpuset specs resolve against
  std::filesystem::path cgroup_mount = "/sys/fs/cgroup";
  std::filesystem::path scratch_dir = "/tmp";  // io work types write here
  // Polled during holds; true ends the run early (Ctrl-C, scheduler death).
  std::function<bool()> should_stop;
};

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
