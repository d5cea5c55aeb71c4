// End-to-end tests of sched_ext schedulers under test: real BPF schedulers
// (the kernel's scx_simple and ktstr's fixture) in a real VM, healthy runs
// pass, and every way a scheduler can fail gives a verdict that says so.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "harness.h"
#include "util/files.h"

namespace ktstr::vmtest {
namespace {

using nlohmann::json;

json sidecar(const std::filesystem::path& dir, const std::string& file) { return read_json(dir / file); }

struct Healthy {
  const char* scheduler;
  const char* binary;
};

class HealthyScheduler : public ::testing::TestWithParam<Healthy> {};

TEST_P(HealthyScheduler, PassesCoreScenarios) {
  KTSTR_REQUIRE_SCHEDULER(GetParam().binary);
  Sandbox box;
  auto out = box.tmpdir() / "results";
  auto r = box.run({"test", "--topology", "1n2l2c1t", "--scheduler", GetParam().scheduler, "--out",
                    out.string(), "steady", "cpuset_apply", "mixed_workloads"},
                   std::chrono::seconds(290));
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  for (const char* s : {"steady", "cpuset_apply", "mixed_workloads"}) {
    auto j = sidecar(out, std::string(s) + "." + GetParam().scheduler + ".json");
    ASSERT_TRUE(j.is_object()) << s;
    EXPECT_EQ(j["verdict"], "PASS") << j["reason"];
    EXPECT_EQ(j["scheduler_report"]["attached"], true);
    EXPECT_EQ(j["scheduler_report"].value("death", json()), json()) << s;
  }
  EXPECT_NE(r.out.find("attached"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(Schedulers, HealthyScheduler,
                         ::testing::Values(Healthy{"fixture", "ktstr_fixture"},
                                           Healthy{"scx_simple", "scx_simple"}),
                         [](const auto& info) { return std::string(info.param.scheduler); });

// Runs `steady` under the fixture with fault knobs; returns (output, sidecar).
std::pair<KtstrRun, json> fixture_run(const Sandbox& box, const std::string& knobs,
                                      std::vector<std::string> extra = {}) {
  auto out = box.tmpdir() / "results";
  std::vector<std::string> args = {"test", "--topology", "1n2l2c1t", "--scheduler", "fixture",
                                   "--sched-args", knobs, "--out", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back("steady");
  auto r = box.run(args);
  return {r, sidecar(out, "steady.fixture.json")};
}

TEST(SchedulerFailure, StalledCgroupIsCaughtEarly) {
  KTSTR_REQUIRE_SCHEDULER("ktstr_fixture");
  Sandbox box;
  // Watchdog 3 s: the kernel ejects the scheduler long before steady's 5 s
  // would end... under TCG the ejection itself takes a few seconds more.
  auto [r, j] = fixture_run(box, "--stall-cgroup cg_1 --stall-delay 500", {"--watchdog-ms", "3000", "--duration", "20"});
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  EXPECT_EQ(j["verdict"], "FAIL");
  std::string reason = j["reason"];
  EXPECT_TRUE(reason.find("runnable task stall") != std::string::npos ||
              reason.find("starved") != std::string::npos)
      << reason;
  EXPECT_TRUE(j["run"]["stopped_early"].get<bool>()) << "ran to the end of the scenario";
  EXPECT_LT(j["run"]["elapsed_ms"].get<uint64_t>(), 20000u);
}

TEST(SchedulerFailure, ExitAfterGivesTheSchedulersReason) {
  KTSTR_REQUIRE_SCHEDULER("ktstr_fixture");
  Sandbox box;
  auto [r, j] = fixture_run(box, "--exit-after 1500");
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  ASSERT_TRUE(j.is_object());
  std::string reason = j["reason"];
  EXPECT_EQ(reason.rfind("scheduler died", 0), 0u) << reason;
  EXPECT_NE(reason.find("exit requested after 1500 ms"), std::string::npos) << reason;
}

TEST(SchedulerFailure, CrashAfterEndsTheRunEarly) {
  KTSTR_REQUIRE_SCHEDULER("ktstr_fixture");
  Sandbox box;
  auto [r, j] = fixture_run(box, "--crash-after 1500", {"--duration", "20"});
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  ASSERT_TRUE(j.is_object());
  std::string reason = j["reason"];
  EXPECT_EQ(reason.rfind("scheduler died: process exited", 0), 0u) << reason;
  EXPECT_TRUE(j["run"]["stopped_early"].get<bool>());
}

TEST(SchedulerFailure, NotASchedulerNeverAttaches) {
  Sandbox box;
  auto out = box.tmpdir() / "results";
  auto r = box.run({"test", "--topology", "1n2l2c1t", "--scheduler", "/bin/true", "--out",
                    out.string(), "steady"});
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  auto j = sidecar(out, "steady.true.json");
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(std::string(j["reason"]).rfind("scheduler did not attach: process exit", 0), 0u) << j["reason"];
}

}  // namespace
}  // namespace ktstr::vmtest
