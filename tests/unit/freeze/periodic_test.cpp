#include "freeze/periodic.h"

#include <gtest/gtest.h>

namespace ktstr::freeze {
namespace {

using std::chrono::milliseconds;
using Points = std::vector<uint64_t>;
using TimePoint = wire::ScenarioTiming::TimePoint;

TEST(PeriodicPoints, SpreadOverTenToNinetyPercent) {
  EXPECT_EQ(periodic_points_ms(0, 10000), Points{});
  EXPECT_EQ(periodic_points_ms(1, 10000), Points{5000});
  EXPECT_EQ(periodic_points_ms(2, 10000), (Points{1000, 9000}));
  EXPECT_EQ(periodic_points_ms(3, 10000), (Points{1000, 5000, 9000}));
  EXPECT_EQ(periodic_points_ms(5, 10000), (Points{1000, 3000, 5000, 7000, 9000}));
  // Rounded down to whole ms.
  EXPECT_EQ(periodic_points_ms(3, 999), (Points{99, 499, 899}));
  EXPECT_EQ(periodic_points_ms(4, 0), (Points{0, 0, 0, 0}));
  EXPECT_EQ(periodic_points_ms(kMaxPeriodicPoints + 1, 10000), Points{});
}

TEST(PeriodicPoints, HugeWindowsDoNotOverflow) {
  const uint64_t w = ~uint64_t{0};
  auto p = periodic_points_ms(3, w);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0], w / 10);
  EXPECT_EQ(p[1], w / 2);
  EXPECT_EQ(p[2], w / 10 * 9 + (w % 10) * 9 / 10);
  EXPECT_LT(p[2], w);
  auto many = periodic_points_ms(kMaxPeriodicPoints, w);
  EXPECT_TRUE(std::is_sorted(many.begin(), many.end()));
}

TEST(WorkloadTime, ExcludesPausesAndNeedsAStart) {
  TimePoint t0{std::chrono::seconds(100)};
  wire::ScenarioTiming::State s;
  EXPECT_EQ(workload_ms_at(s, t0), std::nullopt);
  s.start = t0;
  EXPECT_EQ(workload_ms_at(s, t0 + milliseconds(250)), 250u);
  s.total_paused = milliseconds(100);
  EXPECT_EQ(workload_ms_at(s, t0 + milliseconds(250)), 150u);
  s.paused_at = t0 + milliseconds(200);  // open pause
  EXPECT_EQ(workload_ms_at(s, t0 + milliseconds(1000)), 100u);
  EXPECT_EQ(workload_ms_at(s, t0 - milliseconds(5)), 0u);  // clock before start
}

TEST(PeriodicCapture, FiresEachPointOnceInWorkloadTime) {
  wire::ScenarioTiming timing;
  std::vector<std::string> fired;
  PeriodicCapture p(periodic_points_ms(3, 1000), timing,
                    [&](const std::string& n) { fired.push_back(n); });
  TimePoint t0{std::chrono::seconds(50)};
  // Nothing before SCENARIO_START.
  EXPECT_EQ(p.tick(t0), 0u);
  EXPECT_EQ(p.next_due(t0), std::nullopt);

  timing.on_start(t0, 1000);
  EXPECT_EQ(p.next_due(t0), t0 + milliseconds(100));
  EXPECT_EQ(p.tick(t0 + milliseconds(99)), 0u);
  EXPECT_EQ(p.tick(t0 + milliseconds(100)), 1u);
  EXPECT_EQ(p.tick(t0 + milliseconds(101)), 0u);  // not twice

  // A 300 ms pause shifts the remaining points.
  timing.on_pause(t0 + milliseconds(200));
  EXPECT_EQ(p.next_due(t0 + milliseconds(400)), std::nullopt);  // paused: poll
  EXPECT_EQ(p.tick(t0 + milliseconds(600)), 0u);
  timing.on_resume(t0 + milliseconds(500));
  EXPECT_EQ(p.next_due(t0 + milliseconds(500)), t0 + milliseconds(800));
  EXPECT_EQ(p.tick(t0 + milliseconds(799)), 0u);
  EXPECT_EQ(p.tick(t0 + milliseconds(800)), 1u);

  // Late: everything due fires at once, in order.
  EXPECT_FALSE(p.done());
  EXPECT_EQ(p.tick(t0 + milliseconds(5000)), 1u);
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.next_due(t0 + milliseconds(5000)), std::nullopt);
  EXPECT_EQ(fired, (std::vector<std::string>{"periodic#0", "periodic#1", "periodic#2"}));
}

TEST(PeriodicCapture, OverduePointsFireTogether) {
  wire::ScenarioTiming timing;
  std::vector<std::string> fired;
  PeriodicCapture p(periodic_points_ms(4, 100), timing,
                    [&](const std::string& n) { fired.push_back(n); });
  TimePoint t0{std::chrono::seconds(1)};
  timing.on_start(t0, 100);
  EXPECT_EQ(p.tick(t0 + milliseconds(70)), 3u);
  EXPECT_EQ(p.fired(), 3u);
  EXPECT_EQ(fired.back(), "periodic#2");
}

}  // namespace
}  // namespace ktstr::freeze
