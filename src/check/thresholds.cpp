#include "check/thresholds.h"

#include "util/edit_distance.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "check/detail/knobs.h"
#include "check/detail/num.h"
#include "check/detail/table.h"

namespace ktstr::check {
namespace detail {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kMaxMonitorSamples = 100000;  // ~3 h at 10 Hz

// Display order = the order of known_threshold_keys().
const std::array<KnobInfo, 18> kKnobs = {{
    {.key = "starvation",
     .unit = "",
     .what = "a worker that did zero work units fails",
     .tcg = TcgPolicy::kStrict,
     .bool_knob = &Thresholds::starvation,
     .bool_limit = &Limits::starvation},
    {.key = "max_spread_pct",
     .unit = "%",
     .what = "per cgroup: max - min off-CPU % of its workers (fairness)",
     .tcg = TcgPolicy::kScaled,
     .num_knob = &Thresholds::max_spread_pct,
     .num_limit = &Limits::max_spread_pct,
     .lo = 0,
     .hi = 100,
     .inf_turns_off = true},
    {.key = "max_gap_ms",
     .unit = "ms",
     .what = "longest stall between two iterations of a worker",
     .tcg = TcgPolicy::kScaled,
     .num_knob = &Thresholds::max_gap_ms,
     .num_limit = &Limits::max_gap_ms,
     .lo = 0,
     .lo_open = true,
     .hi = kInf,
     .inf_turns_off = true},
    {.key = "isolation",
     .unit = "",
     .what = "a worker ran on a CPU outside its cgroup's cpuset",
     .tcg = TcgPolicy::kStrict,
     .bool_knob = &Thresholds::isolation,
     .bool_limit = &Limits::isolation},
    {.key = "max_throughput_cv",
     .unit = "",
     .what = "per cgroup: coefficient of variation of work rate across workers",
     .tcg = TcgPolicy::kAdvisory,
     .num_knob = &Thresholds::max_throughput_cv,
     .num_limit = &Limits::max_throughput_cv,
     .lo = 0,
     .hi = kInf,
     .inf_turns_off = true},
    {.key = "min_work_rate",
     .unit = "/s",
     .what = "work units per second of each worker",
     .tcg = TcgPolicy::kAdvisory,
     .num_knob = &Thresholds::min_work_rate,
     .num_limit = &Limits::min_work_rate,
     .lo = 0,
     .hi = kInf},
    {.key = "max_p99_wake_latency_us",
     .unit = "us",
     .what = "per cgroup: p99 wake-up latency over all workers' samples",
     .tcg = TcgPolicy::kAdvisory,
     .num_knob = &Thresholds::max_p99_wake_latency_us,
     .num_limit = &Limits::max_p99_wake_latency_us,
     .lo = 0,
     .lo_open = true,
     .hi = kInf,
     .inf_turns_off = true},
    {.key = "max_wake_latency_cv",
     .unit = "",
     .what = "per cgroup: coefficient of variation of wake-up latency",
     .tcg = TcgPolicy::kAdvisory,
     .num_knob = &Thresholds::max_wake_latency_cv,
     .num_limit = &Limits::max_wake_latency_cv,
     .lo = 0,
     .hi = kInf,
     .inf_turns_off = true},
    {.key = "min_iteration_rate",
     .unit = "/s",
     .what = "loop iterations per second of each worker",
     .tcg = TcgPolicy::kAdvisory,
     .num_knob = &Thresholds::min_iteration_rate,
     .num_limit = &Limits::min_iteration_rate,
     .lo = 0,
     .hi = kInf},
    {.key = "max_migration_ratio",
     .unit = "",
     .what = "per cgroup: CPU migrations per loop iteration",
     .tcg = TcgPolicy::kStrict,
     .num_knob = &Thresholds::max_migration_ratio,
     .num_limit = &Limits::max_migration_ratio,
     .lo = 0,
     .hi = kInf,
     .inf_turns_off = true},
    {.key = "min_numa_locality",
     .unit = "",
     .what = "fraction of a worker's pages on its memory policy's node(s)",
     .tcg = TcgPolicy::kStrict,
     .num_knob = &Thresholds::min_numa_locality,
     .num_limit = &Limits::min_numa_locality,
     .lo = 0,
     .hi = 1},
    // The monitor's (docs/monitor.md). Strict under TCG in the sense that
    // no limit is scaled; instead every sustained window is widened to at
    // least 3 x CPUs samples, one round of QEMU's single-thread vCPU robin.
    {.key = "monitor_warmup_samples",
     .unit = "samples",
     .what = "monitor: samples at the start of a run that are not judged",
     .tcg = TcgPolicy::kStrict,
     .num_knob = &Thresholds::monitor_warmup_samples,
     .num_limit = &Limits::monitor_warmup_samples,
     .lo = 0,
     .hi = kMaxMonitorSamples},
    {.key = "monitor_sustain_samples",
     .unit = "samples",
     .what = "monitor: consecutive violating samples that fail (TCG: at least 3 x CPUs)",
     .tcg = TcgPolicy::kStrict,
     .num_knob = &Thresholds::monitor_sustain_samples,
     .num_limit = &Limits::monitor_sustain_samples,
     .lo = 1,
     .hi = kMaxMonitorSamples},
    {.key = "monitor_max_imbalance_ratio",
     .unit = "",
     .what = "monitor: max / max(1, min) of nr_running over CPUs",
     .tcg = TcgPolicy::kStrict,
     .num_knob = &Thresholds::monitor_max_imbalance_ratio,
     .num_limit = &Limits::monitor_max_imbalance_ratio,
     .lo = 1,
     .hi = kInf,
     .inf_turns_off = true},
    {.key = "monitor_max_local_dsq_depth",
     .unit = "tasks",
     .what = "monitor: tasks queued in one CPU's local DSQ",
     .tcg = TcgPolicy::kStrict,
     .num_knob = &Thresholds::monitor_max_local_dsq_depth,
     .num_limit = &Limits::monitor_max_local_dsq_depth,
     .lo = 0,
     .hi = kInf,
     .inf_turns_off = true},
    {.key = "monitor_stall",
     .unit = "",
     .what = "monitor: a CPU's rq clock stands still while it has runnable tasks",
     .tcg = TcgPolicy::kStrict,
     .bool_knob = &Thresholds::monitor_stall,
     .bool_limit = &Limits::monitor_stall},
    {.key = "monitor_max_fallback_rate",
     .unit = "/s",
     .what = "monitor: SCX_EV_SELECT_CPU_FALLBACK events per second",
     .tcg = TcgPolicy::kAdvisory,
     .num_knob = &Thresholds::monitor_max_fallback_rate,
     .num_limit = &Limits::monitor_max_fallback_rate,
     .lo = 0,
     .hi = kInf,
     .inf_turns_off = true},
    {.key = "monitor_max_keep_last_rate",
     .unit = "/s",
     .what = "monitor: SCX_EV_DISPATCH_KEEP_LAST events per second",
     .tcg = TcgPolicy::kAdvisory,
     .num_knob = &Thresholds::monitor_max_keep_last_rate,
     .num_limit = &Limits::monitor_max_keep_last_rate,
     .lo = 0,
     .hi = kInf,
     .inf_turns_off = true},
}};

// Knobs counted in samples take whole numbers.
bool counts_samples(const KnobInfo& k) { return k.unit == "samples"; }

// "a value > 0 ms", "a value in 0..100 %"; plus the inf hint for max_* knobs.
std::string accepted(const KnobInfo& k) {
  const std::string unit = k.unit.empty() ? "" : fmt::format(" {}", k.unit);
  std::string s = std::isinf(k.hi)
                      ? fmt::format("a value {} {}{}", k.lo_open ? ">" : ">=", num(k.lo), unit)
                      : fmt::format("a value in {}..{}{}", num(k.lo), num(k.hi), unit);
  if (k.inf_turns_off) s += ", or inf to turn the check off";
  return s;
}


std::string unknown_key_error(std::string_view key) {
  std::string_view best;
  size_t best_d = 4;  // suggest only close names
  for (const auto& k : kKnobs) {
    const bool prefix = !key.empty() && k.key.starts_with(key);
    const size_t d = prefix ? 0 : edit_distance(key, k.key);
    if (d < best_d) best_d = d, best = k.key;
  }
  std::string msg = fmt::format("unknown threshold '{}'", one_line(key, 60));
  if (!best.empty()) msg += fmt::format(" (did you mean '{}'?)", best);
  std::string all;
  for (const auto& k : kKnobs) all += (all.empty() ? "" : ", ") + std::string(k.key);
  return msg + "; known: " + all;
}

std::string value_text(const KnobInfo& k, const Limits& l) {
  if (k.bool_limit) return l.*k.bool_limit ? "on" : "off";
  const auto& v = l.*k.num_limit;
  if (!v) return "off";
  return k.unit.empty() ? num(*v) : fmt::format("{} {}", num(*v), k.unit);
}

}  // namespace

std::span<const KnobInfo> knob_table() { return kKnobs; }

const KnobInfo* find_knob(std::string_view key) {
  for (const auto& k : kKnobs)
    if (k.key == key) return &k;
  return nullptr;
}

}  // namespace detail

using detail::KnobInfo;

std::string_view to_string(Origin origin) {
  switch (origin) {
    case Origin::kDefault:
      return "default";
    case Origin::kScheduler:
      return "scheduler";
    case Origin::kScenario:
      return "scenario";
  }
  return "?";
}

std::string_view to_string(TcgPolicy policy) {
  switch (policy) {
    case TcgPolicy::kStrict:
      return "strict";
    case TcgPolicy::kScaled:
      return "scaled";
    case TcgPolicy::kAdvisory:
      return "advisory";
  }
  return "?";
}

const std::vector<std::string_view>& known_threshold_keys() {
  static const std::vector<std::string_view> keys = [] {
    std::vector<std::string_view> v;
    for (const auto& k : detail::knob_table()) v.push_back(k.key);
    return v;
  }();
  return keys;
}

TcgPolicy tcg_policy(std::string_view key) {
  const KnobInfo* k = detail::find_knob(key);
  return k ? k->tcg : TcgPolicy::kStrict;
}

Status set_threshold(Thresholds& t, std::string_view key, double value, Origin origin) {
  const KnobInfo* k = detail::find_knob(key);
  if (!k) return invalid_argument(detail::unknown_key_error(key));
  if (k->bool_knob) {
    if (value != 0 && value != 1)
      return invalid_argument(
          fmt::format("{}: {} is not a switch; use 1 (on) or 0 (off)", k->key, detail::num(value)));
    t.*k->bool_knob = Knob<bool>{value == 1, origin};
    return {};
  }
  const bool off = k->inf_turns_off && std::isinf(value) && value > 0;
  const bool in_range =
      std::isfinite(value) && (k->lo_open ? value > k->lo : value >= k->lo) && value <= k->hi;
  if (!off && !in_range)
    return invalid_argument(fmt::format("{}: {} is out of range; use {}", k->key,
                                        detail::num(value), detail::accepted(*k)));
  if (detail::counts_samples(*k) && value != std::floor(value))
    return invalid_argument(fmt::format("{}: {} is not a whole number of samples; use {}", k->key,
                                        detail::num(value), detail::accepted(*k)));
  t.*k->num_knob = Knob<double>{value, origin};
  return {};
}

Result<Thresholds> parse_thresholds(const std::map<std::string, double>& values, Origin origin) {
  Thresholds t;
  std::string errors;
  for (const auto& [key, value] : values) {
    Status s = set_threshold(t, key, value, origin);
    if (!s.ok()) errors += (errors.empty() ? "" : "; ") + s.error().message();
  }
  if (!errors.empty()) return invalid_argument(errors);
  return t;
}

Thresholds merge(const Thresholds& base, const Thresholds& overlay) {
  Thresholds out = base;
  for (const auto& k : detail::knob_table()) {
    if (k.bool_knob && (overlay.*k.bool_knob).is_set()) out.*k.bool_knob = overlay.*k.bool_knob;
    if (k.num_knob && (overlay.*k.num_knob).is_set()) out.*k.num_knob = overlay.*k.num_knob;
  }
  return out;
}

Limits resolve(const Thresholds& t) {
  Limits l;
  for (const auto& k : detail::knob_table()) {
    if (k.bool_knob) {
      if (const auto& v = (t.*k.bool_knob).value) l.*k.bool_limit = *v;
    } else if (const auto& v = (t.*k.num_knob).value) {
      l.*k.num_limit = std::isinf(*v) ? std::nullopt : std::optional<double>(*v);
    }
  }
  return l;
}

namespace {
Origin origin_of(const Thresholds& t, const KnobInfo& k) {
  const Origin o = k.bool_knob ? (t.*k.bool_knob).origin : (t.*k.num_knob).origin;
  const bool set = k.bool_knob ? (t.*k.bool_knob).is_set() : (t.*k.num_knob).is_set();
  return set ? o : Origin::kDefault;
}
}  // namespace

std::string to_text(const Thresholds& t) {
  const Limits l = resolve(t);
  std::vector<std::vector<std::string>> rows = {
      {"threshold", "value", "set by", "under TCG", "checks"}};
  for (const auto& k : detail::knob_table()) {
    std::string tcg(to_string(k.tcg));
    if (k.tcg == TcgPolicy::kScaled) tcg = "× time scale";
    rows.push_back({std::string(k.key), detail::value_text(k, l),
                    std::string(to_string(origin_of(t, k))), tcg, std::string(k.what)});
  }
  return detail::render_table(rows);
}

nlohmann::json to_json(const Thresholds& t) {
  const Limits l = resolve(t);
  nlohmann::json j = nlohmann::json::object();
  for (const auto& k : detail::knob_table()) {
    nlohmann::json value;  // null = off
    if (k.bool_limit) {
      value = l.*k.bool_limit;
    } else if (const auto& v = l.*k.num_limit) {
      value = *v;
    }
    j[std::string(k.key)] = {{"value", value}, {"source", to_string(origin_of(t, k))}};
  }
  return j;
}

}  // namespace ktstr::check
