#include "wire/scenario_timing.h"

#include <limits>

namespace ktstr::wire {
namespace {

using Rep = ScenarioTiming::Duration::rep;
constexpr Rep kMax = std::numeric_limits<Rep>::max();

// a + b for b >= 0, clamped at the maximum.
Rep add_nonneg(Rep a, Rep b) { return a > kMax - b ? kMax : a + b; }

// b - a when b > a (computed without signed overflow, clamped), else 0.
ScenarioTiming::Duration span_between(ScenarioTiming::TimePoint a, ScenarioTiming::TimePoint b) {
  if (b <= a) return ScenarioTiming::Duration(0);
  uint64_t diff = static_cast<uint64_t>(b.time_since_epoch().count()) -
                  static_cast<uint64_t>(a.time_since_epoch().count());
  return ScenarioTiming::Duration(diff > static_cast<uint64_t>(kMax) ? kMax
                                                                     : static_cast<Rep>(diff));
}

}  // namespace

ScenarioTiming::Duration millis_saturating(uint64_t ms) {
  using namespace std::chrono;
  constexpr uint64_t per_ms = duration_cast<ScenarioTiming::Duration>(milliseconds(1)).count();
  if (ms > static_cast<uint64_t>(kMax) / per_ms) return ScenarioTiming::Duration(kMax);
  return ScenarioTiming::Duration(static_cast<Rep>(ms * per_ms));
}

ScenarioTiming::TimePoint saturating_add(ScenarioTiming::TimePoint t, ScenarioTiming::Duration d) {
  if (d.count() <= 0) return t;  // only forward moves are meaningful here
  return ScenarioTiming::TimePoint(
      ScenarioTiming::Duration(add_nonneg(t.time_since_epoch().count(), d.count())));
}

ScenarioTiming::Duration saturating_add(ScenarioTiming::Duration a, ScenarioTiming::Duration b) {
  if (b.count() <= 0) return a;
  return ScenarioTiming::Duration(add_nonneg(a.count(), b.count()));
}

void ScenarioTiming::close_pause(TimePoint now) {
  if (!s_.paused_at) return;
  // A clock that went backwards yields a zero span, not a negative one.
  Duration span = span_between(*s_.paused_at, now);
  s_.total_paused = saturating_add(s_.total_paused, span);
  if (s_.deadline) s_.deadline = saturating_add(*s_.deadline, span);
  s_.paused_at.reset();
}

void ScenarioTiming::on_start(TimePoint now, uint64_t workload_duration_ms) {
  std::lock_guard lock(mu_);
  close_pause(now);
  if (!s_.start) s_.start = now;
  s_.deadline = saturating_add(now, millis_saturating(workload_duration_ms));
}

void ScenarioTiming::on_pause(TimePoint now) {
  std::lock_guard lock(mu_);
  if (!s_.paused_at) s_.paused_at = now;
}

void ScenarioTiming::on_resume(TimePoint now) {
  std::lock_guard lock(mu_);
  close_pause(now);
}

void ScenarioTiming::on_end(TimePoint now) {
  std::lock_guard lock(mu_);
  close_pause(now);
  s_.deadline.reset();
  if (s_.start && !s_.end) s_.end = now;
}

ScenarioTiming::State ScenarioTiming::state() const {
  std::lock_guard lock(mu_);
  return s_;
}

}  // namespace ktstr::wire
