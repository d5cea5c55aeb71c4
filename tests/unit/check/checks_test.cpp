// The checks that count things (errors, starvation, isolation, fairness
// spread, migrations, NUMA locality) and the verdict around them.
#include "check/checks.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace ktstr::check {
namespace {

using namespace testing;  // NOLINT: test helpers
using workload::WorkerReport;

TEST(Evaluate, EmptyReportListPasses) {
  const Verdict v = evaluate({}, Thresholds{}, RunContext{});
  EXPECT_TRUE(v.passed);
  EXPECT_TRUE(v.findings.empty());
  EXPECT_TRUE(v.stats.empty());
  EXPECT_EQ(v.summary, "passed: no worker reports");
}

TEST(Evaluate, HealthyRunPassesWithStats) {
  std::vector<WorkerReport> r = {worker("cg_1", 0), worker("cg_0", 1), worker("cg_0", 0)};
  r[1].cpus_used = {1, 2};
  const Verdict v = evaluate(r, Thresholds{}, RunContext{});
  EXPECT_TRUE(v.passed) << format_details(v);
  EXPECT_TRUE(v.findings.empty());
  EXPECT_EQ(v.summary, "passed: 3 workers in 2 cgroups");
  ASSERT_EQ(v.stats.size(), 2u);
  EXPECT_EQ(v.stats[0].name, "cg_0");
  EXPECT_EQ(v.stats[0].workers, 2u);
  EXPECT_EQ(v.stats[0].cpus, "0-2");
  EXPECT_EQ(v.stats[0].work_units, 2000u);
  EXPECT_EQ(v.stats[1].name, "cg_1");
}

TEST(Evaluate, ErrorReportFailsWithItsTextAndStaysOutOfStats) {
  std::vector<WorkerReport> r = {worker("cg_0", 0), worker("cg_0", 1)};
  r[1].error = "fork: Resource temporarily unavailable\n";
  r[1].work_units = 0;
  r[1].off_cpu_pct = 99;  // would blow the spread if it were counted
  const Verdict v = evaluate(r, Thresholds{}, RunContext{});
  EXPECT_FALSE(v.passed);
  const Finding f = one(v, "error");
  EXPECT_EQ(f.message, "cg_0: worker 1 failed: fork: Resource temporarily unavailable");
  EXPECT_EQ(f.worker, 1);
  EXPECT_TRUE(f.failed);
  EXPECT_TRUE(of(v, "starvation").empty());
  EXPECT_TRUE(of(v, "spread").empty());
  EXPECT_EQ(v.stats[0].workers, 2u);
  EXPECT_EQ(v.stats[0].errors, 1u);
  EXPECT_EQ(v.summary, f.message);
}

TEST(Starvation, WorkerWithNoWorkFails) {
  std::vector<WorkerReport> r = {worker("cg_0", 0), worker("cg_0", 2)};
  r[1].work_units = 0;
  const Verdict v = evaluate(r, Thresholds{}, RunContext{});
  EXPECT_FALSE(v.passed);
  const Finding f = one(v, "starvation");
  EXPECT_EQ(f.message, "cg_0: worker 2 did no work in 5000 ms (starved)");
  EXPECT_EQ(f.cgroup, "cg_0");
  EXPECT_EQ(f.worker, 2);
  EXPECT_FALSE(f.advisory);
}

TEST(Starvation, OneUnitIsEnoughAndTheCheckCanBeTurnedOff) {
  std::vector<WorkerReport> r = {worker("cg_0", 0)};
  r[0].work_units = 1;
  EXPECT_TRUE(evaluate(r, Thresholds{}, RunContext{}).passed);
  r[0].work_units = 0;
  EXPECT_TRUE(evaluate(r, scenario({{"starvation", 0}}), RunContext{}).passed);
}

TEST(Starvation, ZeroWallTimeUsesTheRunDurationOrNothing) {
  WorkerReport w = worker("", 4);
  w.work_units = 0;
  w.wall_time_ns = 0;
  w.cpu_time_ns = 0;
  RunContext ctx;
  ctx.duration_ms = 3000;
  EXPECT_EQ(one(evaluate({w}, Thresholds{}, ctx), "starvation").message,
            "host: worker 4 did no work in 3000 ms (starved)");
  EXPECT_EQ(one(evaluate({w}, Thresholds{}, RunContext{}), "starvation").message,
            "host: worker 4 did no work (starved)");
}

TEST(Starvation, NeverRelaxedUnderTcg) {
  WorkerReport w = worker("cg_0", 0);
  w.work_units = 0;
  const Verdict v = evaluate({w}, Thresholds{}, tcg(100));
  EXPECT_FALSE(v.passed);
  EXPECT_TRUE(one(v, "starvation").failed);
  EXPECT_FALSE(one(v, "starvation").advisory);
}

TEST(Isolation, WorkerOutsideItsCpusetFails) {
  std::vector<WorkerReport> r = {worker("cg_1", 0), worker("cg_1", 1)};
  r[0].cpus_used = {0, 3};
  r[1].cpus_used = {0, 1};
  RunContext ctx;
  ctx.cgroup_cpusets["cg_1"] = topo::CpuSet{0, 1};
  const Verdict v = evaluate(r, scenario({{"isolation", 1}}), ctx);
  EXPECT_FALSE(v.passed);
  const Finding f = one(v, "isolation");
  EXPECT_EQ(f.message, "cg_1: worker 0 ran on cpu 3 outside its cpuset 0-1");
  EXPECT_EQ(f.value, 1);
}

TEST(Isolation, SeveralCpusAreListed) {
  WorkerReport w = worker("cg_1", 2);
  w.cpus_used = {1, 2, 3, 5, 9000};  // 9000: a guest lying about CPU ids
  RunContext ctx;
  ctx.cgroup_cpusets["cg_1"] = topo::CpuSet{0, 1};
  EXPECT_EQ(one(evaluate({w}, scenario({{"isolation", 1}}), ctx), "isolation").message,
            "cg_1: worker 2 ran on cpus 2-3,5,9000 outside its cpuset 0-1");
}

TEST(Isolation, NothingToCheckWithoutCpusetsOrWhenOff) {
  WorkerReport w = worker("cg_1", 0);
  w.cpus_used = {0, 1, 2, 3};
  RunContext confined;
  confined.cgroup_cpusets["cg_1"] = topo::CpuSet{0};
  // Off by default.
  EXPECT_TRUE(evaluate({w}, Thresholds{}, confined).passed);
  // On, but no cpuset for this cgroup (or an empty one).
  RunContext other;
  other.cgroup_cpusets["cg_2"] = topo::CpuSet{0};
  other.cgroup_cpusets["cg_1"] = topo::CpuSet{};
  EXPECT_TRUE(evaluate({w}, scenario({{"isolation", 1}}), other).passed);
  EXPECT_TRUE(evaluate({w}, scenario({{"isolation", 1}}), RunContext{}).passed);
  // Inside the cpuset passes.
  w.cpus_used = {0};
  EXPECT_TRUE(evaluate({w}, scenario({{"isolation", 1}}), confined).passed);
}

TEST(Isolation, NeverRelaxedUnderTcg) {
  WorkerReport w = worker("cg_1", 0);
  w.cpus_used = {3};
  RunContext ctx = tcg();
  ctx.cgroup_cpusets["cg_1"] = topo::CpuSet{0, 1};
  const Verdict v = evaluate({w}, scenario({{"isolation", 1}}), ctx);
  EXPECT_FALSE(v.passed);
  EXPECT_FALSE(one(v, "isolation").advisory);
}

std::vector<WorkerReport> two_with_off_cpu(double a, double b) {
  std::vector<WorkerReport> r = {worker("cg_0", 0), worker("cg_0", 1)};
  r[0].off_cpu_pct = a;
  r[1].off_cpu_pct = b;
  return r;
}

TEST(Spread, OverTheLimitFailsWithTheRange) {
  const Verdict v = evaluate(two_with_off_cpu(12.0, 43.2), Thresholds{}, RunContext{});
  EXPECT_FALSE(v.passed);
  const Finding f = one(v, "spread");
  EXPECT_EQ(f.message, "cg_0: fairness spread 31.2 % (off-CPU 12.0 %..43.2 %) exceeds 15 %");
  EXPECT_EQ(f.worker, -1);
  EXPECT_DOUBLE_EQ(f.value, 43.2 - 12.0);
  EXPECT_EQ(f.limit, 15);
}

TEST(Spread, ExactlyAtTheLimitPassesJustOverFails) {
  EXPECT_TRUE(evaluate(two_with_off_cpu(10, 25), Thresholds{}, RunContext{}).passed);
  EXPECT_FALSE(evaluate(two_with_off_cpu(10, 25.01), Thresholds{}, RunContext{}).passed);
  EXPECT_TRUE(
      evaluate(two_with_off_cpu(10, 25.01), scenario({{"max_spread_pct", 16}}), RunContext{})
          .passed);
}

TEST(Spread, OneWorkerIsTriviallyZero) {
  WorkerReport w = worker("cg_0", 0);
  w.off_cpu_pct = 90;
  const Verdict v = evaluate({w}, scenario({{"max_spread_pct", 0}}), RunContext{});
  EXPECT_TRUE(v.passed) << format_details(v);
  EXPECT_EQ(v.stats[0].spread_pct, 0);
}

TEST(Spread, IsPerCgroup) {
  std::vector<WorkerReport> r = {worker("cg_0", 0), worker("cg_1", 0)};
  r[0].off_cpu_pct = 0;
  r[1].off_cpu_pct = 80;
  EXPECT_TRUE(evaluate(r, Thresholds{}, RunContext{}).passed);
}

TEST(Spread, ScaledUnderTcg) {
  // 15 % x time scale 4 = 60 %: 50 % is advisory, 70 % fails.
  const Verdict within = evaluate(two_with_off_cpu(0, 50), Thresholds{}, tcg());
  EXPECT_TRUE(within.passed) << format_details(within);
  EXPECT_TRUE(one(within, "spread").advisory);
  EXPECT_EQ(one(within, "spread").message,
            "cg_0: fairness spread 50.0 % (off-CPU 0.0 %..50.0 %) over 15 %, within 15 % × 4 under TCG [emulated (TCG): timing advisory]");
  const Verdict over = evaluate(two_with_off_cpu(0, 70), Thresholds{}, tcg());
  EXPECT_FALSE(over.passed);
  EXPECT_FALSE(one(over, "spread").advisory);
  EXPECT_EQ(one(over, "spread").message,
            "cg_0: fairness spread 70.0 % (off-CPU 0.0 %..70.0 %) exceeds 60 % (15 % × 4 under TCG)");
}

TEST(Spread, WorkersWithoutWallTimeAreLeftOut) {
  auto r = two_with_off_cpu(0, 60);
  r[1].wall_time_ns = 0;
  const Verdict v = evaluate(r, Thresholds{}, RunContext{});
  EXPECT_TRUE(of(v, "spread").empty()) << format_details(v);
}

TEST(Spread, GarbageOffCpuFromTheGuestIsSanitised) {
  auto r = two_with_off_cpu(std::nan(""), 250);
  r[0].cpu_time_ns = 2500 * kMs;  // half of 5000 ms wall: 50 %
  const Verdict v = evaluate(r, Thresholds{}, RunContext{});
  EXPECT_EQ(v.stats[0].min_off_cpu_pct, 50);
  EXPECT_EQ(v.stats[0].max_off_cpu_pct, 100);
  EXPECT_EQ(one(v, "spread").message,
            "cg_0: fairness spread 50.0 % (off-CPU 50.0 %..100.0 %) exceeds 15 %");
}

TEST(MigrationRatio, PerCgroupMigrationsPerIteration) {
  std::vector<WorkerReport> r = {worker("cg_0", 0), worker("cg_0", 1)};
  r[0].migrations = 400;
  r[1].migrations = 500;
  r[0].iterations = 500;
  r[1].iterations = 500;
  EXPECT_TRUE(evaluate(r, Thresholds{}, RunContext{}).passed);  // off by default
  const Verdict v = evaluate(r, scenario({{"max_migration_ratio", 0.5}}), RunContext{});
  EXPECT_EQ(one(v, "migration_ratio").message,
            "cg_0: migration ratio 0.9 (900 migrations / 1000 iterations) exceeds 0.5");
  EXPECT_TRUE(evaluate(r, scenario({{"max_migration_ratio", 0.9}}), RunContext{}).passed);
  // Strict under TCG: migrations are counted, not timed.
  EXPECT_FALSE(evaluate(r, scenario({{"max_migration_ratio", 0.5}}), tcg()).passed);
}

TEST(MigrationRatio, ZeroIterationsDividesByNothing) {
  WorkerReport w = worker("cg_0", 0);
  w.iterations = 0;
  w.migrations = 7;
  const Verdict v = evaluate({w}, scenario({{"max_migration_ratio", 0}}), RunContext{});
  EXPECT_TRUE(of(v, "migration_ratio").empty());
  EXPECT_EQ(v.stats[0].migration_ratio, 0);
}

TEST(NumaLocality, FractionOfPagesOnThePolicyNodes) {
  WorkerReport w = worker("cg_0", 1);
  w.numa_pages = {{0, 500}, {1, 300}};
  RunContext ctx;
  ctx.cgroup_numa_nodes["cg_0"] = {0};
  const Verdict v = evaluate({w}, scenario({{"min_numa_locality", 0.9}}), ctx);
  EXPECT_FALSE(v.passed);
  const Finding f = one(v, "numa_locality");
  EXPECT_EQ(f.message,
            "cg_0: worker 1 NUMA locality 62.5 % (500 of 800 pages on node 0) below 90 %");
  EXPECT_DOUBLE_EQ(f.value, 0.625);
  // Both nodes allowed: fully local.
  ctx.cgroup_numa_nodes["cg_0"] = {0, 1};
  EXPECT_TRUE(evaluate({w}, scenario({{"min_numa_locality", 1}}), ctx).passed);
  // Strict under TCG.
  RunContext t = tcg();
  t.cgroup_numa_nodes["cg_0"] = {1};
  EXPECT_FALSE(evaluate({w}, scenario({{"min_numa_locality", 0.9}}), t).passed);
}

TEST(NumaLocality, ExactlyAtTheLimitPasses) {
  WorkerReport w = worker("cg_0", 0);
  w.numa_pages = {{0, 900}, {1, 100}};
  RunContext ctx;
  ctx.cgroup_numa_nodes["cg_0"] = {0};
  EXPECT_TRUE(evaluate({w}, scenario({{"min_numa_locality", 0.9}}), ctx).passed);
  w.numa_pages = {{0, 899}, {1, 101}};
  EXPECT_FALSE(evaluate({w}, scenario({{"min_numa_locality", 0.9}}), ctx).passed);
}

TEST(NumaLocality, SkippedWithoutPolicyOrPagesAndNoPagesIsNotLocal) {
  WorkerReport w = worker("cg_0", 0);
  RunContext ctx;
  ctx.cgroup_numa_nodes["cg_0"] = {0, 1};
  // Not a memory-policy worker: no page counts at all.
  EXPECT_TRUE(evaluate({w}, scenario({{"min_numa_locality", 0.9}}), ctx).passed);
  // No policy for the cgroup.
  w.numa_pages = {{1, 10}};
  EXPECT_TRUE(evaluate({w}, scenario({{"min_numa_locality", 0.9}}), RunContext{}).passed);
  // Counted, but zero pages: fails without NaN.
  w.numa_pages = {{0, 0}, {1, 0}};
  const Verdict v = evaluate({w}, scenario({{"min_numa_locality", 0.5}}), ctx);
  EXPECT_EQ(one(v, "numa_locality").message,
            "cg_0: worker 0 NUMA locality 0.0 % (0 of 0 pages on nodes 0-1) below 50 %");
}

TEST(Verdict, FailuresComeFirstInCheckOrderAndTheSummaryCountsTheRest) {
  std::vector<WorkerReport> r = {worker("cg_0", 0), worker("cg_0", 1), worker("cg_1", 0)};
  r[0].max_gap_ns = 3000 * kMs;  // gap (cg_0)
  r[1].work_units = 0;           // starvation (cg_0)
  r[2].error = "exec failed";    // error (cg_1)
  const Verdict v = evaluate(r, Thresholds{}, RunContext{});
  ASSERT_EQ(v.findings.size(), 3u) << format_details(v);
  EXPECT_EQ(v.findings[0].check, "error");
  EXPECT_EQ(v.findings[1].check, "starvation");
  EXPECT_EQ(v.findings[2].check, "gap");
  EXPECT_EQ(v.summary, "cg_1: worker 0 failed: exec failed (+2 more failures)");
  EXPECT_EQ(v.summary.find('\n'), std::string::npos);
}

TEST(Verdict, HostWorkersAreLabelledHost) {
  WorkerReport w = worker("", 0);
  w.work_units = 0;
  const Verdict v = evaluate({w}, Thresholds{}, RunContext{});
  EXPECT_EQ(v.stats[0].name, "host");
  EXPECT_EQ(one(v, "starvation").cgroup, "");
  EXPECT_EQ(one(v, "starvation").message.rfind("host: worker 0", 0), 0u);
}

}  // namespace
}  // namespace ktstr::check
