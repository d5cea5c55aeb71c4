// format_details and the JSON sidecar view of a verdict.
#include <gtest/gtest.h>

#include "check/checks.h"
#include "test_util.h"

namespace ktstr::check {
namespace {

using namespace testing;  // NOLINT: test helpers
using workload::WorkerReport;

std::vector<WorkerReport> sample_run() {
  std::vector<WorkerReport> r = {worker("cg_0", 0), worker("cg_0", 1), worker("cg_1", 0)};
  r[0].off_cpu_pct = 12.0;
  r[1].off_cpu_pct = 43.2;
  r[1].cpus_used = {1};
  r[1].migrations = 12;
  r[2].max_gap_ns = 3500 * kMs;
  r[2].max_gap_cpu = 1;
  r[2].max_gap_at_ns = 1200 * kMs;
  r[2].cpus_used = {2, 3};
  r[2].wake_latency_ns = {50'000, 60'000};
  return r;
}

TEST(FormatDetails, FailuresThenAnAlignedTablePerCgroup) {
  const Verdict v = evaluate(sample_run(), Thresholds{}, RunContext{});
  EXPECT_EQ(format_details(v),
            "FAIL  cg_1: worker 0 stuck 3500 ms on cpu1 at +1200 ms (limit 2000 ms)\n"
            "FAIL  cg_0: fairness spread 31.2 % (off-CPU 12.0 %..43.2 %) exceeds 15 %\n"
            "\n"
            "per cgroup:\n"
            "  cgroup  workers  cpus  spread       off-CPU  worst gap                   migrations"
            "  iterations  work/s  wake p99\n"
            "  cg_0          2  0-1   31.2 %  12.0..43.2 %  10 ms (w0 cpu0 +100 ms)             12"
            "        2000     200         -\n"
            "  cg_1          1  2-3    0.0 %    0.0..0.0 %  3500 ms (w0 cpu1 +1200 ms)           0"
            "        1000     200     60 us\n");
}

TEST(FormatDetails, AdvisoriesAfterFailuresAndFailedWorkersCounted) {
  std::vector<WorkerReport> r = {worker("cg_0", 0), worker("cg_0", 1)};
  r[0].max_gap_ns = 3000 * kMs;
  r[1].error = "boom";
  const std::string text = format_details(evaluate(r, Thresholds{}, tcg(4)));
  const auto fail = text.find("FAIL  cg_0: worker 1 failed: boom\n");
  const auto note = text.find("note  cg_0: worker 0 stuck 3000 ms");
  ASSERT_NE(fail, std::string::npos) << text;
  ASSERT_NE(note, std::string::npos) << text;
  EXPECT_LT(fail, note);
  EXPECT_NE(text.find("2 (1 failed)"), std::string::npos) << text;
  EXPECT_EQ(text.find("wake p99"), std::string::npos) << text;  // no samples, no column
}

TEST(FormatDetails, EmptyAndPassing) {
  EXPECT_EQ(format_details(evaluate({}, Thresholds{}, RunContext{})), "no worker reports\n");
  const std::string text =
      format_details(evaluate({worker("cg_0", 0)}, Thresholds{}, RunContext{}));
  EXPECT_EQ(text.rfind("per cgroup:\n", 0), 0u) << text;
}

TEST(VerdictJson, CarriesEverythingTheSidecarNeeds) {
  const Verdict v = evaluate(sample_run(), Thresholds{}, RunContext{});
  const auto j = to_json(v);
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["summary"], v.summary);
  ASSERT_EQ(j["findings"].size(), 2u);
  const auto& gap = j["findings"][0];
  EXPECT_EQ(gap["check"], "gap");
  EXPECT_EQ(gap["cgroup"], "cg_1");
  EXPECT_EQ(gap["worker"], 0);
  EXPECT_EQ(gap["failed"], true);
  EXPECT_EQ(gap["advisory"], false);
  EXPECT_EQ(gap["value"], 3500.0);
  EXPECT_EQ(gap["limit"], 2000.0);
  EXPECT_EQ(gap["message"], v.findings[0].message);
  ASSERT_EQ(j["stats"].size(), 2u);
  EXPECT_EQ(j["stats"][0]["name"], "cg_0");
  EXPECT_EQ(j["stats"][0]["cpus"], "0-1");
  EXPECT_EQ(j["stats"][0]["migrations"], 12);
  EXPECT_EQ(j["stats"][1]["p99_wake_latency_us"], 60.0);
  EXPECT_EQ(j["stats"][1]["worst_gap_cpu"], 1);
}

}  // namespace
}  // namespace ktstr::check

namespace ktstr::check {
namespace {

// The reports reach the checks as JSON over a pipe (workload/report.h).
TEST(Contract, ReportsJudgedTheSameAfterTheJsonPipe) {
  std::vector<workload::WorkerReport> r = sample_run();
  r[0].numa_pages = {{0, 10}, {1, 30}};
  std::vector<workload::WorkerReport> piped;
  piped.reserve(r.size());
  for (const auto& w : r) piped.push_back(workload::report_from_json(workload::to_json(w)));
  RunContext ctx;
  ctx.cgroup_numa_nodes["cg_0"] = {0};
  const Thresholds t = testing::scenario({{"min_numa_locality", 0.5}});
  EXPECT_EQ(to_json(evaluate(piped, t, ctx)), to_json(evaluate(r, t, ctx)));
  EXPECT_EQ(evaluate(piped, t, ctx).findings.size(), 3u);
}

}  // namespace
}  // namespace ktstr::check
