#include "freeze/periodic.h"

#include <fmt/format.h>

#include <algorithm>

namespace ktstr::freeze {

namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// floor(w * num / den) without overflow for any 64-bit w.
uint64_t scale(uint64_t w, uint64_t num, uint64_t den) {
  return (w / den) * num + (w % den) * num / den;
}

}  // namespace

std::vector<uint64_t> periodic_points_ms(uint32_t n, uint64_t workload_ms) {
  std::vector<uint64_t> out;
  if (n == 0 || n > kMaxPeriodicPoints) return out;
  if (n == 1) return {workload_ms / 2};
  // w * (10 (n-1) + 80 i) / (100 (n-1)); num <= 100 (n-1), so no overflow.
  const uint64_t den = 100ull * (n - 1);
  for (uint32_t i = 0; i < n; ++i) out.push_back(scale(workload_ms, 10ull * (n - 1) + 80ull * i, den));
  return out;
}

std::optional<uint64_t> workload_ms_at(const wire::ScenarioTiming::State& s,
                                       wire::ScenarioTiming::TimePoint now) {
  if (!s.start) return std::nullopt;
  auto elapsed = now - *s.start;
  auto paused = s.total_paused;
  if (s.paused_at && now > *s.paused_at) paused += now - *s.paused_at;
  auto ran = elapsed - paused;
  if (ran.count() <= 0) return 0;
  return static_cast<uint64_t>(duration_cast<milliseconds>(ran).count());
}

PeriodicCapture::PeriodicCapture(std::vector<uint64_t> points_ms,
                                 const wire::ScenarioTiming& timing, CaptureFn capture)
    : points_(std::move(points_ms)), timing_(timing), capture_(std::move(capture)) {}

size_t PeriodicCapture::tick(TimePoint now) {
  auto w = workload_ms_at(timing_.state(), now);
  if (!w) return 0;
  size_t fired = 0;
  while (next_ < points_.size() && points_[next_] <= *w) {
    std::string name = fmt::format("periodic#{}", next_);
    ++next_;  // before the call: a capture that fails is not retried
    capture_(name);
    ++fired;
  }
  return fired;
}

std::optional<PeriodicCapture::TimePoint> PeriodicCapture::next_due(TimePoint now) const {
  if (done()) return std::nullopt;
  auto s = timing_.state();
  if (!s.start || s.paused_at) return std::nullopt;
  auto w = workload_ms_at(s, now);
  if (!w) return std::nullopt;
  if (points_[next_] <= *w) return now;
  // Capped: the caller polls again anyway, and a far point must not overflow.
  uint64_t wait = std::min<uint64_t>(points_[next_] - *w, 3600u * 1000u);
  return now + milliseconds(static_cast<int64_t>(wait));
}

}  // namespace ktstr::freeze
