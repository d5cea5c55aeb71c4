// Scenario timing as seen by the host: start stamp, pause bookkeeping and
// the watchdog deadline, driven by SCENARIO_* frames and stamped with the
// host's steady clock (never the guest's). All arithmetic saturates: a
// hostile duration or clock cannot overflow a time point.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace ktstr::wire {

class ScenarioTiming {
 public:
  using Clock = std::chrono::steady_clock;
  using TimePoint = Clock::time_point;
  using Duration = Clock::duration;

  struct State {
    std::optional<TimePoint> start;      // first SCENARIO_START of the run
    std::optional<TimePoint> paused_at;  // set while paused
    Duration total_paused{0};            // sum of closed pauses
    std::optional<TimePoint> deadline;   // nullopt: no scenario deadline
    std::optional<TimePoint> end;        // first SCENARIO_END after the start
  };

  // SCENARIO_START: stamps start (first time only); deadline = now + duration;
  // a pause in progress is closed first.
  void on_start(TimePoint now, uint64_t workload_duration_ms);
  // SCENARIO_PAUSE: stamps the pause; ignored while already paused.
  void on_pause(TimePoint now);
  // SCENARIO_RESUME: adds the paused span to total_paused and to the
  // deadline; ignored when not paused.
  void on_resume(TimePoint now);
  // SCENARIO_END: closes a pause in progress, clears the deadline (the
  // run's own timeout applies again) and stamps the end (first time only).
  void on_end(TimePoint now);

  State state() const;
  std::optional<TimePoint> deadline() const { return state().deadline; }

 private:
  void close_pause(TimePoint now);  // under mu_

  mutable std::mutex mu_;
  State s_;
};

// Saturating helpers, exposed for tests.
ScenarioTiming::TimePoint saturating_add(ScenarioTiming::TimePoint t, ScenarioTiming::Duration d);
ScenarioTiming::Duration saturating_add(ScenarioTiming::Duration a, ScenarioTiming::Duration b);
ScenarioTiming::Duration millis_saturating(uint64_t ms);

}  // namespace ktstr::wire
