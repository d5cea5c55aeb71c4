// Thresholds: the limits the checks judge worker reports against, the layer
// each one came from, and how they merge: defaults -> scheduler -> scenario
// (or test), the last layer that sets a knob wins.
//
// A knob is std::optional per layer so "not set here" differs from "set to
// the default value". Scenario TOML gives a flat map of numbers:
//   [checks]  max_gap_ms = 3000   isolation = 1   max_spread_pct = inf
// Booleans are 0/1. A max_* limit of inf turns that check off; a min_* limit
// of 0 can never fail. See docs/checks.md for every knob.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace ktstr::check {

// Which layer set a knob. kDefault means nobody did.
enum class Origin : uint8_t { kDefault, kScheduler, kScenario };
std::string_view to_string(Origin origin);  // "default" | "scheduler" | "scenario"

template <typename T>
struct Knob {
  std::optional<T> value;            // nullopt: not set in this layer
  Origin origin = Origin::kDefault;  // who set `value`
  bool is_set() const { return value.has_value(); }
};

inline constexpr double kDefaultMaxSpreadPct = 15;
inline constexpr double kDefaultMaxGapMs = 2000;
// The monitor's (src/monitor, docs/monitor.md): samples are 100 ms apart.
inline constexpr double kDefaultMonitorWarmupSamples = 20;
inline constexpr double kDefaultMonitorSustainSamples = 5;
inline constexpr double kDefaultMonitorMaxImbalanceRatio = 4;
inline constexpr double kDefaultMonitorMaxLocalDsqDepth = 50;
inline constexpr double kDefaultMonitorMaxFallbackRate = 200;
inline constexpr double kDefaultMonitorMaxKeepLastRate = 100;

struct Thresholds {
  // On by default.
  Knob<bool> starvation;        // a worker with zero work units fails (true)
  Knob<double> max_spread_pct;  // per cgroup: max - min off-CPU % (15)
  Knob<double> max_gap_ms;      // longest stall between iterations (2000)
  // Off unless set.
  Knob<bool> isolation;                  // ran on a CPU outside the cgroup cpuset
  Knob<double> max_throughput_cv;        // CV of work rate across a cgroup's workers
  Knob<double> min_work_rate;            // work units/s per worker
  Knob<double> max_p99_wake_latency_us;  // per cgroup, pooled samples
  Knob<double> max_wake_latency_cv;      // per cgroup, pooled samples
  Knob<double> min_iteration_rate;       // iterations/s per worker
  Knob<double> max_migration_ratio;      // per cgroup: migrations / iterations
  Knob<double> min_numa_locality;        // fraction of pages on the policy's node(s)
  // The monitor (guest scheduler state sampled from the host, sched_ext
  // runs only). On by default; whole numbers for the *_samples knobs.
  Knob<double> monitor_warmup_samples;       // samples not judged at the start (20)
  Knob<double> monitor_sustain_samples;      // consecutive violating samples to fail (5)
  Knob<double> monitor_max_imbalance_ratio;  // max / max(1, min) nr_running over CPUs (4)
  Knob<double> monitor_max_local_dsq_depth;  // tasks queued in one CPU's local DSQ (50)
  Knob<bool> monitor_stall;                  // rq clock stuck while tasks are runnable (true)
  Knob<double> monitor_max_fallback_rate;    // SCX_EV_SELECT_CPU_FALLBACK per s (200)
  Knob<double> monitor_max_keep_last_rate;   // SCX_EV_DISPATCH_KEEP_LAST per s (100)
};

// The effective limits: defaults filled in, nullopt = check off.
struct Limits {
  bool starvation = true;
  std::optional<double> max_spread_pct = kDefaultMaxSpreadPct;
  std::optional<double> max_gap_ms = kDefaultMaxGapMs;
  bool isolation = false;
  std::optional<double> max_throughput_cv;
  std::optional<double> min_work_rate;
  std::optional<double> max_p99_wake_latency_us;
  std::optional<double> max_wake_latency_cv;
  std::optional<double> min_iteration_rate;
  std::optional<double> max_migration_ratio;
  std::optional<double> min_numa_locality;
  // Never nullopt (no inf): the monitor always has a warm-up and a window.
  std::optional<double> monitor_warmup_samples = kDefaultMonitorWarmupSamples;
  std::optional<double> monitor_sustain_samples = kDefaultMonitorSustainSamples;
  std::optional<double> monitor_max_imbalance_ratio = kDefaultMonitorMaxImbalanceRatio;
  std::optional<double> monitor_max_local_dsq_depth = kDefaultMonitorMaxLocalDsqDepth;
  bool monitor_stall = true;
  std::optional<double> monitor_max_fallback_rate = kDefaultMonitorMaxFallbackRate;
  std::optional<double> monitor_max_keep_last_rate = kDefaultMonitorMaxKeepLastRate;
};
Limits resolve(const Thresholds& t);

// What a check does when the VM is emulated (TCG); see context.h.
enum class TcgPolicy : uint8_t {
  kStrict,    // never relaxed
  kScaled,    // limit x RunContext::time_scale, still fails
  kAdvisory,  // reported, never fails
};
std::string_view to_string(TcgPolicy policy);  // "strict" | "scaled" | "advisory"

// Knob names in display order: starvation, max_spread_pct, max_gap_ms,
// isolation, max_throughput_cv, ..., then the monitor_* knobs.
const std::vector<std::string_view>& known_threshold_keys();
// TCG policy of the check a knob drives; kStrict for unknown keys.
TcgPolicy tcg_policy(std::string_view key);

// Sets one knob from a number, validating it; the error names the key and
// the accepted range ("max_gap_ms: -5 is negative; use a limit in ms >= 0,
// or inf to turn the check off").
Status set_threshold(Thresholds& t, std::string_view key, double value, Origin origin);
// Every entry through set_threshold; all problems in one line, "; "-joined.
Result<Thresholds> parse_thresholds(const std::map<std::string, double>& values, Origin origin);

// Knobs set in `overlay` replace those of `base` (with their origin).
Thresholds merge(const Thresholds& base, const Thresholds& overlay);

// For `ktstr show-thresholds`: one aligned row per knob with the resolved
// value, its origin, the TCG policy and what it checks.
std::string to_text(const Thresholds& t);
// {"max_gap_ms": {"value": 2000, "source": "default"}, "isolation":
//  {"value": false, ...}, "min_work_rate": {"value": null, ...}}; null = off.
nlohmann::json to_json(const Thresholds& t);

}  // namespace ktstr::check
