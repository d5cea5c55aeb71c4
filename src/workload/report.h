// WorkerReport: what one worker measured about how it was scheduled. Built
// in the worker process, sent to the parent over a pipe as JSON, judged by
// src/check.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace ktstr::workload {

struct WorkerReport {
  std::string cgroup;     // scenario cgroup name ("" for host workers)
  uint32_t index = 0;     // worker index within its cgroup
  int32_t pid = 0;
  std::string work_type;  // to_string(WorkType)
  uint32_t group = 0;     // group within its WorkerSet (pairs, fan-outs, contenders)
  std::string role;       // "solo", "ping", "pong", "waker", "waiter", "producer", ...

  uint64_t work_units = 0;  // units of the work type done (spins, round trips, ...)
  uint64_t iterations = 0;  // loop iterations (gap measurement points)
  uint64_t cpu_time_ns = 0; // CLOCK_THREAD_CPUTIME_ID
  uint64_t wall_time_ns = 0;
  double off_cpu_pct = 0;   // 100 * (1 - cpu / wall)

  // Longest time between two consecutive iterations, where and when it ended.
  // Time the worker chose to block (sleeps, waiting for a partner) is not a gap.
  uint64_t max_gap_ns = 0;
  int32_t max_gap_cpu = -1;
  uint64_t max_gap_at_ns = 0;  // offset from the worker's start

  uint64_t migrations = 0;        // CPU changes seen between iterations
  std::vector<uint32_t> cpus_used;  // sorted, distinct

  std::vector<uint64_t> wake_latency_ns;  // reservoir sample, at most 100 000
  uint64_t wake_samples_seen = 0;         // total before reservoir sampling

  // /proc/self/schedstat deltas: run time, wait time, timeslices.
  uint64_t schedstat_run_ns = 0;
  uint64_t schedstat_wait_ns = 0;
  uint64_t schedstat_timeslices = 0;

  // NUMA node -> pages of the worker's memory on it (memory-policy workers).
  std::map<uint32_t, uint64_t> numa_pages;

  std::string error;  // non-empty if the worker failed to run its work
  std::vector<std::string> notes;  // non-fatal remarks ("nice-sweep: cannot lower nice ...")
};

nlohmann::json to_json(const WorkerReport& r);
WorkerReport report_from_json(const nlohmann::json& j);  // tolerant: missing fields keep defaults
// Parses JSON text; fails only when it is not a JSON object. Fields of the
// wrong type keep their defaults, like missing ones.
Result<WorkerReport> parse_report(std::string_view text);

}  // namespace ktstr::workload
