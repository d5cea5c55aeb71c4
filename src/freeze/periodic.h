// Periodic snapshots: N captures spread over the workload window, so a
// test can look at scheduler state early, mid-way and late without asking
// from inside the guest. Time is WORKLOAD time — host steady clock since
// the scenario's SCENARIO_START with its pauses (SCENARIO_PAUSE..RESUME)
// left out — so a paused scenario does not eat its snapshot points.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "wire/scenario_timing.h"

namespace ktstr::freeze {

inline constexpr uint32_t kMaxPeriodicPoints = 1000;

// n points evenly over [10 %, 90 %] of the window, in ms of workload time:
//   n == 1: { w / 2 }
//   n >= 2: point i = w * (0.10 + 0.80 * i / (n - 1)), i = 0 .. n-1
// (rounded down to whole ms; ascending). The 10 % margins keep the first
// snapshot out of the start-up transient and the last one before the
// workload winds down. n == 0 or n > kMaxPeriodicPoints -> empty.
std::vector<uint64_t> periodic_points_ms(uint32_t n, uint64_t workload_ms);

// Workload time at `now`: now - start - closed pauses - the open pause.
// nullopt before SCENARIO_START. Never negative.
std::optional<uint64_t> workload_ms_at(const wire::ScenarioTiming::State& s,
                                       wire::ScenarioTiming::TimePoint now);

// Fires `capture("periodic#<i>")` once per point when the workload time
// reaches it (points passed together fire together, in order). Driven by
// tick(now) from the coordinator's serve loop; no thread of its own.
class PeriodicCapture {
 public:
  using TimePoint = wire::ScenarioTiming::TimePoint;
  using CaptureFn = std::function<void(const std::string& name)>;

  PeriodicCapture(std::vector<uint64_t> points_ms, const wire::ScenarioTiming& timing,
                  CaptureFn capture);

  // Fires every due point; returns how many fired.
  size_t tick(TimePoint now);
  // When the next point falls due if the workload keeps running; nullopt
  // when all fired, before SCENARIO_START or while paused (then poll).
  std::optional<TimePoint> next_due(TimePoint now) const;
  bool done() const { return next_ >= points_.size(); }
  size_t fired() const { return next_; }

 private:
  std::vector<uint64_t> points_;
  const wire::ScenarioTiming& timing_;
  CaptureFn capture_;
  size_t next_ = 0;
};

}  // namespace ktstr::freeze
