// Timeline JSON: samples as recorded plus per-CPU columns, so that "at
// least 20 samples per CPU with a nonzero rq clock delta" is one lookup.
#include "monitor/sample.h"

#include <gtest/gtest.h>

namespace ktstr::monitor {
namespace {

Timeline three_samples() {
  Timeline t;
  t.notes = {"jiffies not sampled: no jiffies symbol"};
  t.events = {{.t_ms = 0, .step = 0, .what = "scenario start"}};
  for (uint64_t i = 0; i < 3; ++i) {
    Sample s{.t_ms = 100 * i, .step = uint32_t(i), .host_starved = 0.25};
    s.global.scx_state = "enabled";
    s.global.events = {{"SELECT_CPU_FALLBACK", int64_t(i)}};
    CpuSample c0{.cpu = 0, .nr_running = 2, .rq_clock = 1000 + i};  // advances
    CpuSample c1{.cpu = 1, .nr_running = 1, .rq_clock = 5000};      // never does
    if (i == 1) c1.rq_clock.reset(), c1.error = "cpu 1: read failed";
    s.cpus = {c0, c1};
    t.samples.push_back(s);
  }
  return t;
}

TEST(SampleJson, CpuSampleOmitsWhatWasNotRead) {
  const auto j = to_json(CpuSample{.cpu = 3, .nr_running = 4, .curr_pid = 0});
  EXPECT_EQ(j, (nlohmann::json{{"cpu", 3}, {"nr_running", 4}, {"curr_pid", 0}}));
}

TEST(SampleJson, TimelineHasSamplesAndPerCpuColumns) {
  const auto j = to_json(three_samples());
  EXPECT_EQ(j["interval_ms"], 100);
  EXPECT_EQ(j["notes"].size(), 1u);
  EXPECT_EQ(j["events"][0]["what"], "scenario start");
  ASSERT_EQ(j["samples"].size(), 3u);
  const auto& s1 = j["samples"][1];
  EXPECT_EQ(s1["t_ms"], 100);
  EXPECT_EQ(s1["step"], 1);
  EXPECT_EQ(s1["host_starved"], 0.25);
  EXPECT_EQ(s1["paused"], false);
  EXPECT_EQ(s1["global"]["scx_state"], "enabled");
  EXPECT_EQ(s1["global"]["events"]["SELECT_CPU_FALLBACK"], 1);
  EXPECT_EQ(s1["cpus"][1]["error"], "cpu 1: read failed");

  const auto& c0 = j["per_cpu"]["0"];
  EXPECT_EQ(c0["t_ms"], nlohmann::json::array({0, 100, 200}));
  EXPECT_EQ(c0["nr_running"], nlohmann::json::array({2, 2, 2}));
  EXPECT_EQ(c0["rq_clock"], nlohmann::json::array({1000, 1001, 1002}));
  EXPECT_EQ(c0["scx_nr_running"], nlohmann::json::array({nullptr, nullptr, nullptr}));
  EXPECT_EQ(c0["rq_clock_advances"], 2);
  const auto& c1 = j["per_cpu"]["1"];
  EXPECT_EQ(c1["rq_clock"], nlohmann::json::array({5000, nullptr, 5000}));
  EXPECT_EQ(c1["rq_clock_advances"], 0);
  EXPECT_TRUE(c1.contains("local_dsq_depth"));
}

TEST(SampleJson, CpuMissingFromASampleIsNullInItsColumns) {
  Timeline t = three_samples();
  t.samples[2].cpus.pop_back();
  const auto j = to_json(t);
  EXPECT_EQ(j["per_cpu"]["1"]["nr_running"], nlohmann::json::array({1, 1, nullptr}));
  EXPECT_EQ(j["per_cpu"]["1"]["t_ms"].size(), 3u);
}

}  // namespace
}  // namespace ktstr::monitor
