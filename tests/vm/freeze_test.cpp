// The freeze coordinator against a real guest: snapshots of a running
// sched_ext scheduler (per-CPU state and its BPF maps), the host's reading
// cross-checked with the guest's own view, write watchpoints, periodic
// captures, kernel reads/writes and the refusals of bad requests.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness.h"

namespace ktstr::vmtest {
namespace {

using nlohmann::json;

std::string scenario_file(const char* name) {
  return std::string(KTSTR_VM_SCENARIOS) + "/" + name + ".toml";
}

// Runs one scenario file on 1n2l2c1t; returns (run, sidecar).
std::pair<KtstrRun, json> run_scenario(const Sandbox& box, const char* scenario,
                                       const char* scheduler = nullptr) {
  auto out = box.tmpdir() / "results";
  std::vector<std::string> args = {"test", "--topology", "1n2l2c1t", "--out", out.string()};
  if (scheduler) {
    args.push_back("--scheduler");
    args.push_back(scheduler);
  }
  args.push_back(scenario_file(scenario));
  auto r = box.run(args);
  std::string file = std::string(scenario) + (scheduler ? std::string(".") + scheduler : "") + ".json";
  return {r, read_json(out / file)};
}

const json* find_request(const json& j, const std::string& tag) {
  for (auto& r : j["run"]["host_requests"])
    if (r["tag"] == tag) return &r;
  return nullptr;
}

uint64_t sum_numbers(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  uint64_t s = 0;
  if (v.is_array())
    for (auto& e : v) s += sum_numbers(e);
  return s;
}

TEST(Freeze, SnapshotsShowEveryCpuAndTheSchedulersMaps) {
  KTSTR_REQUIRE_SCHEDULER("scx_simple");
  Sandbox box;
  auto [r, j] = run_scenario(box, "freeze_snapshots", "scx_simple");
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  EXPECT_EQ(j["verdict"], "PASS") << j["reason"] << "\n" << j["details"];
  const json& snaps = j["monitor"]["snapshots"];
  ASSERT_EQ(snaps.size(), 2u) << j["monitor"]["notes"];
  uint64_t vtime[2], stats[2];
  for (size_t i = 0; i < 2; ++i) {
    const json& s = snaps[i];
    EXPECT_EQ(s["cpus"].size(), 4u);
    for (auto& c : s["cpus"]) EXPECT_TRUE(c.contains("nr_running")) << c;
    EXPECT_GT(s["freeze_us"].get<uint64_t>(), 0u);
    EXPECT_EQ(s["step"], i + 1) << "snapshot ops ran in steps 1 and 2";
    // scx_simple's maps, by name suffix: .bss (vtime_now) and per-CPU stats.
    const json* bss = nullptr;
    for (auto& [name, m] : s["maps"].items())
      if (name.size() >= 4 && name.substr(name.size() - 4) == ".bss") bss = &m;
    ASSERT_NE(bss, nullptr) << s["maps"].dump().substr(0, 2000);
    vtime[i] = (*bss)["value"]["vtime_now"].get<uint64_t>();
    ASSERT_TRUE(s["maps"].contains("stats")) << s["maps"].dump().substr(0, 2000);
    const json& st = s["maps"]["stats"]["value"];
    ASSERT_EQ(st.size(), 2u) << st;  // local and global dispatch counters
    EXPECT_EQ(st[0].size(), 4u) << "one value per CPU";
    stats[i] = sum_numbers(st);
  }
  EXPECT_GT(vtime[0], 0u);
  EXPECT_GT(vtime[1], vtime[0]);
  EXPECT_GT(stats[0], 0u);
  EXPECT_GT(stats[1], stats[0]);
  EXPECT_TRUE(j["assertions"][0]["passed"].get<bool>()) << j["assertions"];
}

TEST(Freeze, InvertedTemporalAssertFailsWithAReadableMessage) {
  KTSTR_REQUIRE_SCHEDULER("scx_simple");
  Sandbox box;
  auto [r, j] = run_scenario(box, "freeze_snapshots_inverted", "scx_simple");
  EXPECT_EQ(r.status.code, 1) << r.out << r.err;
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  std::string reason = j["reason"];
  EXPECT_EQ(reason.rfind("snapshot assertion failed: assert[0] maps[.bss].vtime_now non_increasing "
                         "failed: ", 0),
            0u)
      << reason;
  EXPECT_NE(reason.find("at 'second' (step 2) > "), std::string::npos) << reason;
  // The failure output carries the last snapshot.
  EXPECT_NE(j["details"].get<std::string>().find("last snapshot 'second'"), std::string::npos)
      << j["details"];
}

// The host's per-CPU nr_running and sched_ext state, read out of guest
// memory while frozen, agree with the guest's own view read just before and
// just after the freeze (sched/debug, sysfs): within two tasks per CPU (the
// guest's reader itself is one, a passing kernel thread another).
void expect_host_matches_guest(const json& j) {
  const json& snaps = j["monitor"]["snapshots"];
  ASSERT_EQ(snaps.size(), 3u) << j["monitor"]["notes"];
  for (size_t i = 0; i < snaps.size(); ++i) {
    const json* req = find_request(j, snaps[i]["name"]);
    ASSERT_NE(req, nullptr);
    json guest = json::parse((*req)["detail"].get<std::string>());
    const json& before = guest["guest_before"]["nr_running"];
    const json& after = guest["guest_after"]["nr_running"];
    ASSERT_EQ(before.size(), 4u) << guest;
    ASSERT_EQ(after.size(), 4u) << guest;
    for (size_t cpu = 0; cpu < 4; ++cpu) {
      int64_t host = snaps[i]["cpus"][cpu]["nr_running"].get<int64_t>();
      int64_t lo = std::min(before[cpu].get<int64_t>(), after[cpu].get<int64_t>()) - 2;
      int64_t hi = std::max(before[cpu].get<int64_t>(), after[cpu].get<int64_t>()) + 2;
      EXPECT_TRUE(host >= lo && host <= hi)
          << "snapshot " << snaps[i]["name"] << " cpu " << cpu << ": host " << host << ", guest "
          << before[cpu] << " / " << after[cpu];
    }
    // The pinned spinners: two on CPU 1, one on CPU 2.
    EXPECT_GE(snaps[i]["cpus"][1]["nr_running"].get<int64_t>(), 2);
    EXPECT_GE(snaps[i]["cpus"][2]["nr_running"].get<int64_t>(), 1);
    EXPECT_EQ(snaps[i]["global"]["scx_state"], guest["guest_before"]["scx_state"]);
    EXPECT_EQ(snaps[i]["global"]["scx_state"], guest["guest_after"]["scx_state"]);
  }
}

TEST(Freeze, HostReadingMatchesTheGuestsOwnViewUnderEevdf) {
  Sandbox box;
  auto [r, j] = run_scenario(box, "monitor_crosscheck");
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  expect_host_matches_guest(j);
  EXPECT_EQ(j["monitor"]["snapshots"][0]["global"]["scx_state"], "disabled");
}

TEST(Freeze, HostReadingMatchesTheGuestsOwnViewUnderScxSimple) {
  KTSTR_REQUIRE_SCHEDULER("scx_simple");
  Sandbox box;
  auto [r, j] = run_scenario(box, "monitor_crosscheck", "scx_simple");
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  expect_host_matches_guest(j);
  EXPECT_EQ(j["monitor"]["snapshots"][0]["global"]["scx_state"], "enabled");
}

TEST(Freeze, WatchpointCapturesAndBadTargetsAreRefused) {
  KTSTR_REQUIRE_SCHEDULER("scx_simple");
  Sandbox box;
  auto [r, j] = run_scenario(box, "freeze_watch", "scx_simple");
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  EXPECT_EQ(j["verdict"], "PASS") << j["reason"] << "\n" << j["details"];
  size_t captures = 0;
  for (auto& s : j["monitor"]["snapshots"])
    if (s["trigger"] == "watch") ++captures;
  EXPECT_GE(captures, 1u) << j["monitor"]["freeze"];
  EXPECT_TRUE((*find_request(j, "jiffies"))["ok"].get<bool>());
  const json* unknown = find_request(j, "no_such_kernel_symbol");
  ASSERT_NE(unknown, nullptr);
  EXPECT_FALSE((*unknown)["ok"].get<bool>());
  EXPECT_NE((*unknown)["error"].get<std::string>().find("unknown kernel symbol"), std::string::npos);
  const json* misaligned = find_request(j, "jiffies+1");
  ASSERT_NE(misaligned, nullptr);
  EXPECT_NE((*misaligned)["error"].get<std::string>().find("misaligned"), std::string::npos)
      << *misaligned;
}

TEST(Freeze, PeriodicCapturesFallInsideTheWindowWithTheirStep) {
  Sandbox box;
  auto [r, j] = run_scenario(box, "freeze_periodic");
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  const json& snaps = j["monitor"]["snapshots"];
  ASSERT_EQ(snaps.size(), 5u) << j["monitor"];
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(snaps[i]["trigger"], "periodic");
    EXPECT_EQ(snaps[i]["name"], "periodic#" + std::to_string(i));
    uint64_t at = snaps[i]["workload_ms"];
    EXPECT_GE(at, 400u) << "10 % of 5000 ms, less rounding";
    EXPECT_LE(at, 4600u) << "90 % of 5000 ms, plus one serve period";
    EXPECT_GE(snaps[i]["step"].get<uint32_t>(), 1u);
  }
  EXPECT_EQ(snaps[4]["step"], 2) << "the last capture falls in the second step";
}

TEST(Freeze, KernelReadsAndWritesGoThroughTheHostAndBadOnesAreRefused) {
  Sandbox box;
  auto [r, j] = run_scenario(box, "freeze_kernel_ops");
  // The guest checks the write itself (a payload reads the sysctl).
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  EXPECT_EQ(j["verdict"], "PASS") << j["reason"] << "\n" << j["details"];
  auto value = [&](const char* tag) { return (*find_request(j, tag))["value"].get<uint64_t>(); };
  EXPECT_GT(value("jiffies_b"), value("jiffies_a"));
  EXPECT_EQ(value("rt_period_after"), 999000u);
  for (const char* tag : {"user_half", "unknown", "wrong_width"}) {
    const json* req = find_request(j, tag);
    ASSERT_NE(req, nullptr) << tag;
    EXPECT_FALSE((*req)["ok"].get<bool>()) << tag;
    EXPECT_FALSE((*req)["error"].get<std::string>().empty()) << tag;
  }
}

TEST(Freeze, TheVmRunsNormallyAfterManyFreezes) {
  Sandbox box;
  auto [r, j] = run_scenario(box, "freeze_many");
  EXPECT_EQ(r.status.code, 0) << r.out << r.err;
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  EXPECT_EQ(j["verdict"], "PASS") << j["reason"] << "\n" << j["details"];
  const json& stats = j["monitor"]["freeze"];
  EXPECT_GE(stats["freezes"].get<uint64_t>(), 100u) << stats;
  EXPECT_GT(stats["freeze_us"]["median"].get<uint64_t>(), 0u) << stats;
  EXPECT_EQ(j["monitor"]["snapshots"].size(), 1u);
}

}  // namespace
}  // namespace ktstr::vmtest
