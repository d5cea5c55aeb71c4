// Meter and Reservoir: the in-worker measurement primitives.
#include "workload/detail/meter.h"

#include <gtest/gtest.h>

#include <thread>

namespace ktstr::workload::detail {
namespace {

using namespace std::chrono_literals;

TEST(Reservoir, KeepsAtMostCapAndCountsAll) {
  Reservoir r(42, 10);
  for (uint64_t i = 0; i < 1000; ++i) r.add(i);
  EXPECT_EQ(r.seen(), 1000u);
  ASSERT_EQ(r.samples().size(), 10u);
  for (uint64_t v : r.samples()) EXPECT_LT(v, 1000u);
  // Later values get in: a uniform sample of 1000 is not the first 10.
  uint64_t late = 0;
  for (uint64_t v : r.samples()) late += v >= 10;
  EXPECT_GT(late, 0u);
}

TEST(Reservoir, FixedSeedIsDeterministic) {
  Reservoir a(7, 100), b(7, 100);
  for (uint64_t i = 0; i < 10'000; ++i) {
    a.add(i);
    b.add(i);
  }
  EXPECT_EQ(a.samples(), b.samples());
}

TEST(Reservoir, BelowCapKeepsEverything) {
  Reservoir r(1);
  for (uint64_t i = 0; i < 500; ++i) r.add(i * 3);
  ASSERT_EQ(r.samples().size(), 500u);
  EXPECT_EQ(r.samples()[499], 1497u);
  EXPECT_EQ(Reservoir::kCap, 100'000u);
}

TEST(Meter, PausedTimeIsNotAGapButRunningTimeIs) {
  ProgressSlot progress;
  Meter m(1, &progress);
  m.begin();
  m.tick(2);
  m.pause();
  std::this_thread::sleep_for(300ms);  // voluntary: must not count
  m.resume();
  m.tick(3);
  WorkerReport r;
  m.finish(r);
  EXPECT_EQ(r.iterations, 2u);
  EXPECT_EQ(r.work_units, 5u);
  EXPECT_EQ(progress.iterations.load(), 2u);
  EXPECT_EQ(progress.work_units.load(), 5u);
  EXPECT_LT(r.max_gap_ns, 300'000'000u);
  EXPECT_GE(r.wall_time_ns, 300'000'000u);
  EXPECT_GT(r.off_cpu_pct, 50.0);
  EXPECT_FALSE(r.cpus_used.empty());

  Meter busy(1, nullptr);
  busy.begin();
  const uint64_t t0 = mono_ns();
  while (mono_ns() - t0 < 20'000'000) {
  }
  busy.tick(1);
  WorkerReport b;
  busy.finish(b);
  EXPECT_GE(b.max_gap_ns, 20'000'000u);  // a long iteration is a long gap
  EXPECT_GE(b.max_gap_at_ns, 20'000'000u);
  EXPECT_GE(b.max_gap_cpu, 0);
}

TEST(Meter, WakeLatencyGoesToTheReport) {
  Meter m(1, nullptr);
  m.begin();
  m.wake_latency(5);
  m.wake_latency(7);
  WorkerReport r;
  m.finish(r);
  EXPECT_EQ(r.wake_samples_seen, 2u);
  EXPECT_EQ(r.wake_latency_ns, (std::vector<uint64_t>{5, 7}));
}

TEST(Meter, UnstartedMeterReportsNothing) {
  Meter m(1, nullptr);
  WorkerReport r;
  m.finish(r);
  EXPECT_EQ(r.wall_time_ns, 0u);
  EXPECT_EQ(r.iterations, 0u);
  EXPECT_TRUE(r.cpus_used.empty());
  EXPECT_EQ(r.max_gap_cpu, -1);
}

TEST(Sys, SpinAndRng) {
  EXPECT_NE(spin(1000), spin(1001));
  EXPECT_EQ(spin(1000, 5), spin(1000, 5));
  Rng a(3), b(3);
  EXPECT_EQ(a.next(), b.next());
  for (int i = 0; i < 100; ++i) EXPECT_LT(a.below(7), 7u);
  EXPECT_EQ(a.below(0), 0u);
}

}  // namespace
}  // namespace ktstr::workload::detail
