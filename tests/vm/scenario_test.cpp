// End-to-end tests of `ktstr test`: catalog scenarios under EEVDF in a real
// VM, a deliberately stalled worker caught by the gap check, isolation on
// cpusets, every work type, and scenario-file errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <nlohmann/json.hpp>

#include "harness.h"
#include "util/files.h"

namespace ktstr::vmtest {
namespace {

using nlohmann::json;

int count_lines_starting(const std::string& out, const std::string& prefix) {
  int n = 0;
  size_t pos = 0;
  while ((pos = out.find(prefix, pos)) != std::string::npos) {
    if (pos == 0 || out[pos - 1] == '\n') ++n;
    pos += prefix.size();
  }
  return n;
}

json sidecar(const std::filesystem::path& dir, const std::string& scenario) {
  auto text = read_file(dir / (scenario + ".json"));
  if (!text.ok()) return json();
  return json::parse(*text, nullptr, false);
}

struct CatalogCase {
  const char* topology;
  std::vector<std::string> scenarios;
};

class CatalogUnderEevdf : public ::testing::TestWithParam<CatalogCase> {};

TEST_P(CatalogUnderEevdf, Passes) {
  Sandbox box;
  auto out = box.tmpdir() / "results";
  std::vector<std::string> args = {"test", "--topology", GetParam().topology, "--out", out.string()};
  for (auto& s : GetParam().scenarios) args.push_back(s);
  auto r = box.run(args, std::chrono::seconds(280));
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  EXPECT_EQ(count_lines_starting(r.out, "PASS"), static_cast<int>(GetParam().scenarios.size())) << r.out;
  for (auto& s : GetParam().scenarios) {
    auto j = sidecar(out, s);
    ASSERT_TRUE(j.is_object()) << "no sidecar for " << s;
    EXPECT_EQ(j["verdict"], "PASS");
    EXPECT_EQ(j["scheduler"], "eevdf");
    EXPECT_GT(j["run"]["reports"].size(), 0u) << s;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Eevdf, CatalogUnderEevdf,
    ::testing::Values(CatalogCase{"1n2l2c1t", {"steady", "cpuset_apply", "mixed_workloads", "cgroup_add"}},
                      CatalogCase{"2n2l2c1t", {"steady_llc", "cpuset_disjoint", "nested_steady", "affinity_pinned"}}),
    [](const auto& info) { return std::string(info.param.topology); });

// The test-only freeze-worker op stops worker 1 of cg_1 for 3 s mid-run.
// Under TCG the gap limit is scaled (x4 on 4 vCPUs), so the scenario sets
// 700 ms: 2.8 s scaled, still below the 3 s stall and far above TCG's
// natural gaps (100-300 ms).
constexpr const char* kStalledWorker = R"(
name = "stalled_worker"
category = "basic"
description = "One worker is frozen for 3 s: the gap check must name it"
duration_s = 6

[thresholds]
max_gap_ms = 700

[[backdrop]]
name = "cg_1"
workers = 2

[[step]]
hold = { fraction = 0.2 }

[[step]]
hold = { fraction = 0.8 }
ops = [ { op = "freeze-worker", cgroup = "cg_1", worker = 1, duration_ms = 3000 } ]
)";

TEST(Scenario, FrozenWorkerIsAGapFailureNamingIt) {
  Sandbox box;
  auto file = box.tmpdir() / "stalled_worker.toml";
  ASSERT_TRUE(write_file(file, kStalledWorker).ok());
  auto out = box.tmpdir() / "results";
  auto r = box.run({"test", "--topology", "1n2l2c1t", "--out", out.string(), file.string()});
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  EXPECT_EQ(count_lines_starting(r.out, "FAIL"), 1) << r.out;
  EXPECT_NE(r.out.find("cg_1: worker 1 stuck"), std::string::npos) << r.out;
  auto j = sidecar(out, "stalled_worker");
  ASSERT_TRUE(j.is_object());
  bool gap_failed = false;
  for (auto& f : j["checks"]["findings"])
    if (f["check"] == "gap" && f["failed"] == true && f["worker"] == 1) gap_failed = true;
  EXPECT_TRUE(gap_failed) << j["checks"].dump(2);
}

TEST(Scenario, IsolationHoldsOnCpusets) {
  Sandbox box;
  auto out = box.tmpdir() / "results";
  auto r = box.run({"test", "--topology", "1n2l2c1t", "--out", out.string(), "cpuset_disjoint"});
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  auto j = sidecar(out, "cpuset_disjoint");
  ASSERT_TRUE(j.is_object());
  // The check had something to judge: every cgroup was confined.
  for (auto& c : j["run"]["cgroups"]) EXPECT_NE(c["cpus_allowed"], "") << c.dump();
  EXPECT_EQ(j["thresholds"]["isolation"]["value"], true) << j["thresholds"].dump();
}

TEST(Scenario, EveryWorkTypeDoesWork) {
  const std::vector<std::string> types = {
      "cpu-spin", "yield-heavy", "mixed", "io-sync", "bursty", "pipe-io", "futex-ping-pong",
      "cache-pressure", "cache-yield", "cache-pipe", "futex-fan-out", "fan-out-compute", "sequence",
      "fork-exit", "nice-sweep", "affinity-churn", "policy-churn", "page-fault-churn",
      "mutex-contention"};
  std::string toml =
      "name = \"all_work_types\"\ncategory = \"basic\"\n"
      "description = \"Every work type runs and does work\"\nduration_s = 1\n"
      // Many processes on few emulated CPUs: judge work, not timing.
      "[thresholds]\nmax_gap_ms = 60000\nmax_spread_pct = 100\n";
  for (auto& t : types) {
    std::string name = t;
    std::replace(name.begin(), name.end(), '-', '_');
    toml += "[[backdrop]]\nname = \"" + name + "\"\nworkers = 1\nwork = { type = \"" + t + "\" }\n";
  }
  Sandbox box;
  auto file = box.tmpdir() / "all_work_types.toml";
  ASSERT_TRUE(write_file(file, toml).ok());
  auto out = box.tmpdir() / "results";
  auto r = box.run({"test", "--topology", "1n2l2c1t", "--out", out.string(), file.string()});
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  auto j = sidecar(out, "all_work_types");
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  std::set<std::string> seen;
  for (auto& rep : j["run"]["reports"]) {
    EXPECT_GT(rep["work_units"].get<uint64_t>(), 0u) << rep.dump();
    EXPECT_EQ(rep.value("error", ""), "") << rep.dump();
    seen.insert(rep["work_type"].get<std::string>());
  }
  for (auto& t : types) EXPECT_TRUE(seen.count(t)) << t << " did not report";
}

TEST(Scenario, MalformedFileNamesLineAndColumn) {
  Sandbox box;
  auto file = box.tmpdir() / "broken.toml";
  ASSERT_TRUE(write_file(file, "name = \"broken\"\ncategory = \"basic\"\ndescription = \"x\"\n"
                               "[[backdrop]]\nname = \"cg\"\nwork = { type = \"cpu-spinn\" }\n")
                  .ok());
  auto r = box.run({"test", file.string()});
  EXPECT_EQ(r.status.code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("broken.toml:6:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cpu-spinn"), std::string::npos) << r.err;
}

TEST(Scenario, HostRunRefusesCgroupV1InOneLine) {
  Sandbox box;
  auto r = box.run({"run", "--filter", "steady"});
  if (r.status.code == 0) GTEST_SKIP() << "this host has cgroup v2";
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find("cgroup v2"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ktstr::vmtest
