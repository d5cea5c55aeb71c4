// The monitor's checks over a timeline (sched_ext runs only): imbalance,
// local DSQ depth, stall, event rates. Each starts after a warm-up and
// fails only when a violation is sustained for N consecutive samples; the
// failure names the CPU, metric, value, limit, time and step. Limits come
// from check::Limits (knobs monitor_*, merged defaults -> scheduler ->
// scenario like every other threshold).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "check/thresholds.h"
#include "monitor/sample.h"

namespace ktstr::monitor {

struct MonitorFailure {
  std::string metric;           // "imbalance", "local_dsq_depth", "stall", "fallback_rate", ...
  std::optional<uint32_t> cpu;  // nullopt for machine-wide metrics
  std::vector<uint32_t> cpus;   // stall: every stalled CPU
  double value = 0;
  double limit = 0;
  uint64_t t_ms = 0;  // when the sustained violation began
  uint32_t step = 0;
  std::string message;  // one line a person can act on
};

struct MonitorVerdict {
  bool evaluated = false;  // false: not a sched_ext run, or too few samples
  std::vector<MonitorFailure> failures;
  std::vector<std::string> notes;  // skipped checks and why
  bool passed() const { return failures.empty(); }
  // "monitor failed: stall on CPUs 1,3: rq clock stuck for 700 ms with 2
  // runnable tasks (limit 5 samples) at 3.2 s, step 1"; first failure.
  std::string summary() const;
};

// `emulated`: TCG. Stalls under TCG need the sustained window to cover the
// single-threaded round robin over all vCPUs (see docs/monitor.md).
MonitorVerdict evaluate(const Timeline& timeline, const check::Limits& limits, bool emulated);

nlohmann::json to_json(const MonitorVerdict& v);

}  // namespace ktstr::monitor
