// The checks that measure time (gap, wake latency, rates, throughput CV)
// and how each behaves when the VM is emulated (TCG).
#include <gtest/gtest.h>

#include <cmath>

#include "check/checks.h"
#include "test_util.h"

namespace ktstr::check {
namespace {

using namespace testing;  // NOLINT: test helpers
using workload::WorkerReport;

constexpr std::string_view kAdvisory = " [emulated (TCG): timing advisory]";

WorkerReport gapped(uint64_t gap_ms, int32_t cpu = 1) {
  WorkerReport w = worker("cg_1", 3);
  w.max_gap_ns = gap_ms * kMs;
  w.max_gap_cpu = cpu;
  w.max_gap_at_ns = 1200 * kMs;
  return w;
}

TEST(Gap, OverTheLimitFailsWithWhereAndWhen) {
  const Verdict v = evaluate({gapped(3500)}, Thresholds{}, RunContext{});
  EXPECT_FALSE(v.passed);
  const Finding f = one(v, "gap");
  EXPECT_EQ(f.message, "cg_1: worker 3 stuck 3500 ms on cpu1 at +1200 ms (limit 2000 ms)");
  EXPECT_EQ(f.worker, 3);
  EXPECT_EQ(f.value, 3500);
  EXPECT_EQ(f.limit, 2000);
  EXPECT_EQ(v.summary, f.message);
}

TEST(Gap, ExactlyAtTheLimitPassesOneNanosecondOverFails) {
  const Verdict at = evaluate({gapped(2000)}, Thresholds{}, RunContext{});
  EXPECT_TRUE(at.passed);
  EXPECT_TRUE(at.findings.empty()) << format_details(at);
  WorkerReport w = gapped(2000);
  w.max_gap_ns += 1;
  EXPECT_FALSE(evaluate({w}, Thresholds{}, RunContext{}).passed);
  EXPECT_TRUE(evaluate({gapped(2500)}, scenario({{"max_gap_ms", 2500}}), RunContext{}).passed);
  EXPECT_TRUE(evaluate({gapped(99999)}, scenario({{"max_gap_ms", INFINITY}}), RunContext{}).passed);
}

TEST(Gap, UnknownCpuIsLeftOut) {
  EXPECT_EQ(one(evaluate({gapped(3500, -1)}, Thresholds{}, RunContext{}), "gap").message,
            "cg_1: worker 3 stuck 3500 ms at +1200 ms (limit 2000 ms)");
}

TEST(Gap, ScaledUnderTcgAndSaysSo) {
  // Over 2000 x 4: fails, and the message shows the scaling.
  Verdict v = evaluate({gapped(9000)}, Thresholds{}, tcg(4));
  EXPECT_FALSE(v.passed);
  Finding f = one(v, "gap");
  EXPECT_EQ(f.message,
            "cg_1: worker 3 stuck 9000 ms on cpu1 at +1200 ms (limit 2000 ms × 4 under TCG)");
  EXPECT_EQ(f.limit, 8000);
  EXPECT_FALSE(f.advisory);
  // Over 2000 but within the TCG allowance: advisory, passes.
  v = evaluate({gapped(3500)}, Thresholds{}, tcg(4));
  EXPECT_TRUE(v.passed);
  f = one(v, "gap");
  EXPECT_TRUE(f.advisory);
  EXPECT_FALSE(f.failed);
  EXPECT_EQ(f.message,
            "cg_1: worker 3 stuck 3500 ms on cpu1 at +1200 ms (over 2000 ms, within "
            "2000 ms × 4 under TCG)" +
                std::string(kAdvisory));
  EXPECT_EQ(v.summary, "passed: 1 worker in 1 cgroup (1 advisory)");
  // Exactly at the scaled limit: still only advisory.
  EXPECT_TRUE(evaluate({gapped(8000)}, Thresholds{}, tcg(4)).passed);
}

TEST(Gap, StrictOnKvmWhateverTheTimeScale) {
  RunContext kvm;
  kvm.time_scale = 4;  // ignored when not emulated
  const Verdict v = evaluate({gapped(3500)}, Thresholds{}, kvm);
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(one(v, "gap").limit, 2000);
}

TEST(Gap, NonsenseTimeScaleIsTakenAsOne) {
  for (double s : {0.0, 0.5, -3.0, static_cast<double>(NAN)}) {
    const Verdict v = evaluate({gapped(2500)}, Thresholds{}, tcg(s));
    EXPECT_FALSE(v.passed) << s;
    EXPECT_EQ(one(v, "gap").limit, 2000) << s;
  }
}

TEST(Context, DefaultTimeScale) {
  EXPECT_EQ(default_time_scale(false, 64), 1.0);
  EXPECT_EQ(default_time_scale(true, 2), 4.0);
  EXPECT_EQ(default_time_scale(true, 8), 4.0);
  EXPECT_EQ(default_time_scale(true, 16), 8.0);
}

// Wake latency samples 1..n microseconds, in ns.
std::vector<uint64_t> micros(uint64_t n, uint64_t from = 1) {
  std::vector<uint64_t> v;
  for (uint64_t i = from; i < from + n; ++i) v.push_back(i * 1000);
  return v;
}

TEST(WakeLatency, P99OverPooledSamples) {
  std::vector<WorkerReport> r = {worker("cg_0", 0), worker("cg_0", 1)};
  r[0].wake_latency_ns = micros(50, 51);  // 51..100 us
  r[1].wake_latency_ns = micros(50, 1);   // 1..50 us
  const Verdict pass = evaluate(r, scenario({{"max_p99_wake_latency_us", 99}}), RunContext{});
  EXPECT_TRUE(pass.passed) << format_details(pass);
  EXPECT_EQ(pass.stats[0].wake_samples, 100u);
  EXPECT_EQ(pass.stats[0].p99_wake_latency_us, 99);
  EXPECT_EQ(pass.stats[0].p50_wake_latency_us, 50);
  const Verdict fail = evaluate(r, scenario({{"max_p99_wake_latency_us", 98}}), RunContext{});
  EXPECT_FALSE(fail.passed);
  EXPECT_EQ(one(fail, "wake_latency_p99").message,
            "cg_0: wake latency p99 99 us exceeds 98 us (100 samples)");
}

TEST(WakeLatency, AdvisoryUnderTcg) {
  WorkerReport w = worker("cg_0", 0);
  w.wake_latency_ns = micros(100);
  const Verdict v = evaluate({w}, scenario({{"max_p99_wake_latency_us", 10}}), tcg());
  EXPECT_TRUE(v.passed);
  const Finding f = one(v, "wake_latency_p99");
  EXPECT_TRUE(f.advisory);
  EXPECT_FALSE(f.failed);
  EXPECT_EQ(f.message,
            "cg_0: wake latency p99 99 us exceeds 10 us (100 samples)" + std::string(kAdvisory));
}

TEST(WakeLatency, NoSamplesNothingToCheck) {
  const Verdict v = evaluate({worker("cg_0", 0)},
                             scenario({{"max_p99_wake_latency_us", 1}, {"max_wake_latency_cv", 0}}),
                             RunContext{});
  EXPECT_TRUE(v.passed);
  EXPECT_EQ(v.stats[0].p99_wake_latency_us, 0);
}

TEST(WakeLatency, CoefficientOfVariation) {
  WorkerReport w = worker("cg_0", 0);
  w.wake_latency_ns = {100'000, 300'000};  // mean 200 us, stddev 100 us: CV 0.5
  EXPECT_TRUE(evaluate({w}, scenario({{"max_wake_latency_cv", 0.5}}), RunContext{}).passed);
  const Verdict v = evaluate({w}, scenario({{"max_wake_latency_cv", 0.49}}), RunContext{});
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(one(v, "wake_latency_cv").message,
            "cg_0: wake latency CV 0.5 exceeds 0.49 (2 samples)");
  EXPECT_TRUE(
      one(evaluate({w}, scenario({{"max_wake_latency_cv", 0.49}}), tcg()), "wake_latency_cv")
          .advisory);
  // Identical samples: CV 0.
  w.wake_latency_ns = {5000, 5000, 5000};
  EXPECT_TRUE(evaluate({w}, scenario({{"max_wake_latency_cv", 0}}), RunContext{}).passed);
}

std::vector<WorkerReport> rates(uint64_t a, uint64_t b) {
  std::vector<WorkerReport> r = {worker("cg_0", 0), worker("cg_0", 1)};
  r[0].wall_time_ns = r[1].wall_time_ns = 10'000 * kMs;
  r[0].work_units = a;
  r[1].work_units = b;
  return r;
}

TEST(ThroughputCv, WorkRateSpreadAcrossACgroup) {
  auto r = rates(1000, 3000);  // 100 and 300 units/s: CV 0.5
  EXPECT_TRUE(evaluate(r, scenario({{"max_throughput_cv", 0.5}}), RunContext{}).passed);
  const Verdict v = evaluate(r, scenario({{"max_throughput_cv", 0.4}}), RunContext{});
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(one(v, "throughput_cv").message,
            "cg_0: work rate CV 0.5 across 2 workers (100..300 units/s) exceeds 0.4");
  EXPECT_TRUE(evaluate(r, scenario({{"max_throughput_cv", 0.4}}), tcg()).passed);
  // A single worker has no variation.
  EXPECT_TRUE(evaluate({r[0]}, scenario({{"max_throughput_cv", 0}}), RunContext{}).passed);
}

TEST(Rates, MinWorkRatePerWorker) {
  auto r = rates(1000, 5000);  // 100 and 500 units/s
  EXPECT_TRUE(evaluate(r, scenario({{"min_work_rate", 100}}), RunContext{}).passed);
  const Verdict v = evaluate(r, scenario({{"min_work_rate", 101}}), RunContext{});
  EXPECT_FALSE(v.passed);
  EXPECT_EQ(one(v, "work_rate").message, "cg_0: worker 0 work rate 100 /s below 101 /s");
  const Verdict t = evaluate(r, scenario({{"min_work_rate", 101}}), tcg());
  EXPECT_TRUE(t.passed);
  EXPECT_TRUE(one(t, "work_rate").advisory);
}

TEST(Rates, MinIterationRatePerWorker) {
  auto r = rates(1000, 1000);
  r[1].iterations = 20;  // 2 iterations/s
  EXPECT_TRUE(evaluate(r, scenario({{"min_iteration_rate", 2}}), RunContext{}).passed);
  const Verdict v = evaluate(r, scenario({{"min_iteration_rate", 2.5}}), RunContext{});
  EXPECT_EQ(one(v, "iteration_rate").message, "cg_0: worker 1 iteration rate 2 /s below 2.5 /s");
  EXPECT_TRUE(evaluate(r, scenario({{"min_iteration_rate", 2.5}}), tcg()).passed);
}

TEST(Rates, StarvedWorkersAreReportedOnceAsStarved) {
  auto r = rates(0, 1000);
  const Verdict v = evaluate(r, scenario({{"min_work_rate", 1}}), RunContext{});
  EXPECT_EQ(of(v, "starvation").size(), 1u);
  EXPECT_TRUE(of(v, "work_rate").empty());
  // With starvation off, the rate check reports it.
  const Verdict off =
      evaluate(r, scenario({{"min_work_rate", 1}, {"starvation", 0}}), RunContext{});
  EXPECT_EQ(one(off, "work_rate").message, "cg_0: worker 0 work rate 0 /s below 1 /s");
}

TEST(ZeroTime, NoDivisionByZeroAndNoNaNAnywhere) {
  WorkerReport zero = worker("cg_0", 0);
  zero.cpu_time_ns = 0;
  zero.wall_time_ns = 0;
  zero.off_cpu_pct = NAN;
  zero.iterations = 0;
  zero.max_gap_ns = 0;
  WorkerReport no_cpu = worker("cg_0", 1);
  no_cpu.cpu_time_ns = 0;
  no_cpu.off_cpu_pct = INFINITY;
  const Thresholds all = scenario({{"max_throughput_cv", 0},
                                   {"min_work_rate", 1e9},
                                   {"min_iteration_rate", 1e9},
                                   {"max_migration_ratio", 0},
                                   {"max_wake_latency_cv", 0},
                                   {"max_p99_wake_latency_us", 1}});
  const Verdict v = evaluate({zero, no_cpu}, all, RunContext{});
  const std::string text = format_details(v) + to_json(v).dump();
  EXPECT_EQ(text.find("nan"), std::string::npos) << text;
  EXPECT_EQ(text.find("inf"), std::string::npos) << text;
  EXPECT_EQ(text.find("null"), std::string::npos) << text;  // NaN dumps as null
  // The zero-wall worker has no rate, so only the other one is judged.
  EXPECT_EQ(of(v, "work_rate").size(), 1u);
  EXPECT_EQ(of(v, "work_rate")[0].worker, 1);
  const CgroupStats& s = v.stats[0];
  for (double x : {s.spread_pct, s.min_off_cpu_pct, s.max_off_cpu_pct, s.mean_work_rate,
                   s.throughput_cv, s.migration_ratio, s.wake_latency_cv})
    EXPECT_TRUE(std::isfinite(x));
  EXPECT_EQ(s.spread_pct, 0);  // only one worker has wall time
}

}  // namespace
}  // namespace ktstr::check
