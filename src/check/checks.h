// The checks: judge the workers' reports of one run against the thresholds
// and return a verdict a scheduler developer can act on — which worker, in
// which cgroup, on which CPU, by how much — plus per-cgroup statistics.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "check/context.h"
#include "check/thresholds.h"
#include "workload/report.h"

namespace ktstr::check {

// One problem found. `failed` findings fail the run; `advisory` ones are
// timing results that would have failed on KVM but are not trusted under
// TCG (see context.h). `check` is one of: error, starvation, isolation, gap,
// spread, throughput_cv, work_rate, iteration_rate, wake_latency_p99,
// wake_latency_cv, migration_ratio, numa_locality.
struct Finding {
  std::string check;
  std::string cgroup;  // as in the report ("" = host workers, shown as "host")
  int worker = -1;     // report index; -1 for cgroup-wide findings
  bool failed = false;
  bool advisory = false;
  std::string message;  // one line, starts with the cgroup label
  double value = 0;     // what was measured, in the check's unit
  double limit = 0;     // the limit it was compared with (after TCG scaling)
};

// What the workers of one cgroup did. All values are finite; means and
// ratios are 0 when there is nothing to divide by.
struct CgroupStats {
  std::string name;      // "host" for cgroup ""
  uint32_t workers = 0;  // reports, including failed ones
  uint32_t errors = 0;   // reports with `error` set
  std::string cpus;      // cpu list of every CPU a worker ran on, "0-3"
  double min_off_cpu_pct = 0, max_off_cpu_pct = 0;
  double spread_pct = 0;  // max - min; 0 with fewer than two workers
  double worst_gap_ms = 0;
  int worst_gap_worker = -1;
  int worst_gap_cpu = -1;
  double worst_gap_at_ms = 0;  // when that gap ended, from the worker's start
  uint64_t migrations = 0, iterations = 0, work_units = 0;
  double migration_ratio = 0;  // migrations / iterations
  double mean_work_rate = 0;   // work units/s, mean over workers
  double throughput_cv = 0;    // of per-worker work rate
  uint64_t wake_samples = 0;   // pooled samples
  double p50_wake_latency_us = 0, p99_wake_latency_us = 0;
  double wake_latency_cv = 0;
};

struct Verdict {
  bool passed = true;              // no finding with failed = true
  std::vector<Finding> findings;   // failures first (error, starvation, ...), then advisories
  std::vector<CgroupStats> stats;  // sorted by cgroup name
  // One line: the first failure (+ how many more), or "passed: ...".
  std::string summary;
};

// Runs every check that `thresholds` turns on. Reports with `error` set are
// failures carrying the error text, and are left out of the statistics. An
// empty report list passes ("no worker reports"). Guest-supplied numbers are
// sanitised, so a lying worker can fail its run but not produce NaN.
Verdict evaluate(const std::vector<workload::WorkerReport>& reports, const Thresholds& thresholds,
                 const RunContext& ctx);

// The failure messages, then advisories, then one aligned table row per
// cgroup (workers, cpus, spread, worst gap, migrations, iterations, ...).
std::string format_details(const Verdict& verdict);

nlohmann::json to_json(const Finding& finding);
nlohmann::json to_json(const CgroupStats& stats);
// {"passed", "summary", "findings": [...], "stats": [...]} for the sidecar.
nlohmann::json to_json(const Verdict& verdict);

}  // namespace ktstr::check
