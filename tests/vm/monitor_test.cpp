// The host monitor against a real guest kernel: it reads every vCPU's
// runqueue out of guest RAM while a scenario runs, stays quiet on healthy
// runs, and fails runs on stalls and imbalance the workers cannot see.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace ktstr::vmtest {
namespace {

using nlohmann::json;

std::string scenario_file(const char* name) {
  return std::string(KTSTR_VM_SCENARIOS) + "/" + name + ".toml";
}

// Every CPU has >= `min` samples and its rq clock advanced between some.
void expect_timeline_covers_every_cpu(const json& m, uint32_t cpus, size_t min) {
  ASSERT_TRUE(m.is_object());
  const json& per_cpu = m["timeline"]["per_cpu"];
  ASSERT_EQ(per_cpu.size(), cpus) << m["timeline"].dump().substr(0, 2000);
  for (auto& [cpu, col] : per_cpu.items()) {
    const json& clock = col["rq_clock"];
    ASSERT_GE(clock.size(), min) << "cpu " << cpu;
    size_t advanced = 0;
    for (size_t i = 1; i < clock.size(); ++i)
      if (clock[i].is_number() && clock[i - 1].is_number() && clock[i].get<uint64_t>() > clock[i - 1].get<uint64_t>())
        ++advanced;
    EXPECT_GT(advanced, 0u) << "cpu " << cpu << ": rq clock never advanced";
  }
}

class MonitorHealthy : public ::testing::TestWithParam<const char*> {};

TEST_P(MonitorHealthy, SteadyUnderScxSimpleTripsNothing) {
  KTSTR_REQUIRE_SCHEDULER("scx_simple");
  Sandbox box;
  auto out = box.tmpdir() / "results";
  auto mjson = box.tmpdir() / "m.json";
  auto r = box.run({"test", "--topology", GetParam(), "--scheduler", "scx_simple", "--monitor-json",
                    mjson.string(), "--out", out.string(), "steady"});
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  auto j = read_json(out / "steady.scx_simple.json");
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  EXPECT_EQ(j["verdict"], "PASS") << j["reason"] << "\n" << j["details"];
  auto m = read_json(mjson);
  ASSERT_TRUE(m.is_object()) << r.out << r.err;
  EXPECT_TRUE(m["attached"].get<bool>()) << m["notes"];
  EXPECT_TRUE(m["verdict"]["evaluated"].get<bool>()) << m["verdict"];
  EXPECT_TRUE(m["verdict"]["failures"].empty()) << m["verdict"];
  expect_timeline_covers_every_cpu(m, 4, 20);
  // The scheduler was loaded the whole time the monitor looked (sampling
  // ends at SCENARIO_END, just before the agent unloads it).
  const json& samples = m["timeline"]["samples"];
  for (size_t i = 0; i + 1 < samples.size(); ++i)
    EXPECT_EQ(samples[i]["global"]["scx_state"], "enabled") << samples[i].dump();
}

INSTANTIATE_TEST_SUITE_P(Topologies, MonitorHealthy, ::testing::Values("1n2l2c1t", "2n2l2c1t"),
                         [](const auto& info) {
                           return std::string(info.param[0] == '1' ? "OneNode" : "TwoNodes");
                         });

TEST(Monitor, EevdfRunIsSampledButNotJudged) {
  Sandbox box;
  auto out = box.tmpdir() / "results";
  auto mjson = box.tmpdir() / "m.json";
  auto r = box.run({"test", "--topology", "1n1l2c1t", "--monitor-json", mjson.string(), "--out",
                    out.string(), "--duration", "3", "steady"});
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  auto m = read_json(mjson);
  ASSERT_TRUE(m.is_object());
  EXPECT_FALSE(m["verdict"]["evaluated"].get<bool>());
  expect_timeline_covers_every_cpu(m, 2, 20);
  for (auto& s : m["timeline"]["samples"]) EXPECT_EQ(s["global"]["scx_state"], "disabled");
}

TEST(Monitor, FixtureStallIsCaughtByTheHostBeforeTheWatchdog) {
  KTSTR_REQUIRE_SCHEDULER("ktstr_fixture");
  Sandbox box;
  auto out = box.tmpdir() / "results";
  // The kernel's watchdog gets the longest timeout it allows (30 s), so the
  // host monitor is first to see that nothing is dispatched any more.
  auto r = box.run({"test", "--topology", "1n2l2c1t", "--scheduler", "fixture", "--sched-args",
                    "--stall-after 1500", "--watchdog-ms", "30000", "--out", out.string(), "steady"});
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  auto j = read_json(out / "steady.fixture.json");
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  EXPECT_EQ(j["verdict"], "FAIL");
  const json& failures = j["monitor"]["verdict"]["failures"];
  const json* stall = nullptr;
  for (auto& f : failures)
    if (f["metric"] == "stall") stall = &f;
  ASSERT_NE(stall, nullptr) << j["monitor"]["verdict"].dump(2) << "\n" << j["details"];
  EXPECT_FALSE((*stall)["cpus"].empty());
  EXPECT_NE((*stall)["message"].get<std::string>().find("cpu"), std::string::npos) << *stall;
  EXPECT_NE(j["details"].get<std::string>().find("stall"), std::string::npos);
}

TEST(Monitor, WorkersPinnedToOneCpuTripTheImbalanceCheck) {
  KTSTR_REQUIRE_SCHEDULER("scx_simple");
  Sandbox box;
  auto out = box.tmpdir() / "results";
  auto r = box.run({"test", "--topology", "1n2l2c1t", "--scheduler", "scx_simple", "--out",
                    out.string(), scenario_file("monitor_imbalance")});
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  auto j = read_json(out / "monitor_imbalance.scx_simple.json");
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  std::string reason = j["reason"];
  EXPECT_EQ(reason.rfind("passed scenario but monitor failed", 0), 0u) << reason << "\n" << j["details"];
  EXPECT_NE(reason.find("imbalance"), std::string::npos) << reason;
  EXPECT_TRUE(j["checks"]["passed"].get<bool>()) << j["details"];
}

}  // namespace
}  // namespace ktstr::vmtest
