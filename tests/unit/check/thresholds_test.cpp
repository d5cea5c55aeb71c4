#include "check/thresholds.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <sstream>

namespace ktstr::check {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Asserts r failed with a one-line kInvalidArgument message containing needle.
template <typename T>
std::string expect_error(const Result<T>& r, const std::string& needle) {
  EXPECT_FALSE(r.ok()) << "expected an error containing '" << needle << "'";
  if (r.ok()) return {};
  std::string msg = r.error().message();
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line message: " << msg;
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument) << msg;
  return msg;
}

Thresholds parse(const std::map<std::string, double>& m, Origin o) {
  auto t = parse_thresholds(m, o);
  EXPECT_TRUE(t.ok()) << t.error().message();
  return t.ok() ? *t : Thresholds{};
}

TEST(Thresholds, DefaultsWhenNothingIsSet) {
  const Limits l = resolve(Thresholds{});
  EXPECT_TRUE(l.starvation);
  EXPECT_EQ(l.max_spread_pct, 15.0);
  EXPECT_EQ(l.max_gap_ms, 2000.0);
  EXPECT_FALSE(l.isolation);
  EXPECT_FALSE(l.max_throughput_cv);
  EXPECT_FALSE(l.min_work_rate);
  EXPECT_FALSE(l.max_p99_wake_latency_us);
  EXPECT_FALSE(l.max_wake_latency_cv);
  EXPECT_FALSE(l.min_iteration_rate);
  EXPECT_FALSE(l.max_migration_ratio);
  EXPECT_FALSE(l.min_numa_locality);
  EXPECT_EQ(l.monitor_warmup_samples, 20.0);
  EXPECT_EQ(l.monitor_sustain_samples, 5.0);
  EXPECT_EQ(l.monitor_max_imbalance_ratio, 4.0);
  EXPECT_EQ(l.monitor_max_local_dsq_depth, 50.0);
  EXPECT_TRUE(l.monitor_stall);
  EXPECT_EQ(l.monitor_max_fallback_rate, 200.0);
  EXPECT_EQ(l.monitor_max_keep_last_rate, 100.0);
  EXPECT_FALSE(Thresholds{}.max_gap_ms.is_set());
}

TEST(Thresholds, KnownKeysInDisplayOrder) {
  const std::vector<std::string_view> want = {"starvation",
                                              "max_spread_pct",
                                              "max_gap_ms",
                                              "isolation",
                                              "max_throughput_cv",
                                              "min_work_rate",
                                              "max_p99_wake_latency_us",
                                              "max_wake_latency_cv",
                                              "min_iteration_rate",
                                              "max_migration_ratio",
                                              "min_numa_locality",
                                              "monitor_warmup_samples",
                                              "monitor_sustain_samples",
                                              "monitor_max_imbalance_ratio",
                                              "monitor_max_local_dsq_depth",
                                              "monitor_stall",
                                              "monitor_max_fallback_rate",
                                              "monitor_max_keep_last_rate"};
  EXPECT_EQ(known_threshold_keys(), want);
}

TEST(Thresholds, ParseSetsEveryKnobWithItsOrigin) {
  const Thresholds t = parse({{"starvation", 0},
                              {"max_spread_pct", 20},
                              {"max_gap_ms", 3000},
                              {"isolation", 1},
                              {"max_throughput_cv", 0.25},
                              {"min_work_rate", 100},
                              {"max_p99_wake_latency_us", 500},
                              {"max_wake_latency_cv", 1.5},
                              {"min_iteration_rate", 10},
                              {"max_migration_ratio", 0.5},
                              {"min_numa_locality", 0.9},
                              {"monitor_warmup_samples", 10},
                              {"monitor_sustain_samples", 3},
                              {"monitor_max_imbalance_ratio", 2.5},
                              {"monitor_max_local_dsq_depth", 8},
                              {"monitor_stall", 0},
                              {"monitor_max_fallback_rate", 1000},
                              {"monitor_max_keep_last_rate", 0}},
                             Origin::kScheduler);
  EXPECT_EQ(t.max_gap_ms.origin, Origin::kScheduler);
  EXPECT_EQ(t.isolation.origin, Origin::kScheduler);
  const Limits l = resolve(t);
  EXPECT_FALSE(l.starvation);
  EXPECT_EQ(l.max_spread_pct, 20.0);
  EXPECT_EQ(l.max_gap_ms, 3000.0);
  EXPECT_TRUE(l.isolation);
  EXPECT_EQ(l.max_throughput_cv, 0.25);
  EXPECT_EQ(l.min_work_rate, 100.0);
  EXPECT_EQ(l.max_p99_wake_latency_us, 500.0);
  EXPECT_EQ(l.max_wake_latency_cv, 1.5);
  EXPECT_EQ(l.min_iteration_rate, 10.0);
  EXPECT_EQ(l.max_migration_ratio, 0.5);
  EXPECT_EQ(l.min_numa_locality, 0.9);
  EXPECT_EQ(l.monitor_warmup_samples, 10.0);
  EXPECT_EQ(l.monitor_sustain_samples, 3.0);
  EXPECT_EQ(l.monitor_max_imbalance_ratio, 2.5);
  EXPECT_EQ(l.monitor_max_local_dsq_depth, 8.0);
  EXPECT_FALSE(l.monitor_stall);
  EXPECT_EQ(l.monitor_max_fallback_rate, 1000.0);
  EXPECT_EQ(l.monitor_max_keep_last_rate, 0.0);
}

TEST(Thresholds, MonitorKnobRanges) {
  const Thresholds off = parse({{"monitor_max_imbalance_ratio", kInf},
                                {"monitor_max_local_dsq_depth", kInf},
                                {"monitor_max_fallback_rate", kInf},
                                {"monitor_max_keep_last_rate", kInf},
                                {"monitor_warmup_samples", 0}},
                               Origin::kScenario);
  const Limits l = resolve(off);
  EXPECT_FALSE(l.monitor_max_imbalance_ratio);
  EXPECT_FALSE(l.monitor_max_local_dsq_depth);
  EXPECT_FALSE(l.monitor_max_fallback_rate);
  EXPECT_FALSE(l.monitor_max_keep_last_rate);
  EXPECT_EQ(l.monitor_warmup_samples, 0.0);
  expect_error(parse_thresholds({{"monitor_sustain_samples", 0}}, Origin::kScenario),
               "monitor_sustain_samples: 0 is out of range; use a value in 1..100000 samples");
  expect_error(parse_thresholds({{"monitor_sustain_samples", 2.5}}, Origin::kScenario),
               "monitor_sustain_samples: 2.5 is not a whole number of samples");
  expect_error(parse_thresholds({{"monitor_warmup_samples", kInf}}, Origin::kScenario),
               "monitor_warmup_samples: inf is out of range");
  expect_error(parse_thresholds({{"monitor_max_imbalance_ratio", 0.5}}, Origin::kScenario),
               "monitor_max_imbalance_ratio: 0.5 is out of range; use a value >= 1, or inf");
  expect_error(parse_thresholds({{"monitor_stall", 2}}, Origin::kScenario),
               "monitor_stall: 2 is not a switch");
}

TEST(Thresholds, MergeDefaultsThenSchedulerThenScenarioLastSetWins) {
  const Thresholds sched =
      parse({{"max_gap_ms", 3000}, {"max_spread_pct", 20}, {"isolation", 1}}, Origin::kScheduler);
  // The scenario sets max_gap_ms back to the default value: still "set", so
  // it must win over the scheduler's 3000.
  const Thresholds scen =
      parse({{"max_gap_ms", 2000}, {"isolation", 0}, {"min_work_rate", 5}}, Origin::kScenario);
  const Thresholds m = merge(merge(Thresholds{}, sched), scen);
  EXPECT_EQ(m.max_gap_ms.value, 2000.0);
  EXPECT_EQ(m.max_gap_ms.origin, Origin::kScenario);
  EXPECT_EQ(m.max_spread_pct.value, 20.0);
  EXPECT_EQ(m.max_spread_pct.origin, Origin::kScheduler);
  EXPECT_EQ(m.isolation.value, false);
  EXPECT_EQ(m.isolation.origin, Origin::kScenario);
  EXPECT_EQ(m.min_work_rate.value, 5.0);
  EXPECT_FALSE(m.starvation.is_set());
  EXPECT_EQ(m.starvation.origin, Origin::kDefault);

  // Order matters: the other way round the scheduler wins.
  const Thresholds r = merge(merge(Thresholds{}, scen), sched);
  EXPECT_EQ(r.max_gap_ms.value, 3000.0);
  EXPECT_EQ(r.max_gap_ms.origin, Origin::kScheduler);
  EXPECT_EQ(r.isolation.value, true);
  // Unset overlay knobs keep the base.
  const Thresholds same = merge(sched, Thresholds{});
  EXPECT_EQ(same.max_gap_ms.value, 3000.0);
  EXPECT_EQ(same.max_gap_ms.origin, Origin::kScheduler);
}

TEST(Thresholds, InfTurnsAMaxCheckOffAndCanBeTurnedBackOn) {
  const Thresholds off =
      parse({{"max_gap_ms", kInf}, {"max_spread_pct", kInf}}, Origin::kScheduler);
  EXPECT_FALSE(resolve(off).max_gap_ms);
  EXPECT_FALSE(resolve(off).max_spread_pct);
  const Thresholds on = merge(off, parse({{"max_gap_ms", 2500}}, Origin::kScenario));
  EXPECT_EQ(resolve(on).max_gap_ms, 2500.0);
  EXPECT_FALSE(resolve(on).max_spread_pct);
}

TEST(Thresholds, BoundaryValuesAreAccepted) {
  for (auto [key, v] : std::vector<std::pair<std::string, double>>{{"max_spread_pct", 0},
                                                                   {"max_spread_pct", 100},
                                                                   {"min_numa_locality", 0},
                                                                   {"min_numa_locality", 1},
                                                                   {"min_work_rate", 0},
                                                                   {"max_throughput_cv", 0},
                                                                   {"max_migration_ratio", 0},
                                                                   {"max_gap_ms", 0.5},
                                                                   {"starvation", 1},
                                                                   {"isolation", 0}}) {
    Thresholds t;
    EXPECT_TRUE(set_threshold(t, key, v, Origin::kScenario).ok()) << key << "=" << v;
  }
}

TEST(Thresholds, ParseErrorsNameTheKeyAndWhatToUse) {
  expect_error(parse_thresholds({{"max_gap", 1}}, Origin::kScenario),
               "unknown threshold 'max_gap' (did you mean 'max_gap_ms'?); known: starvation, "
               "max_spread_pct, max_gap_ms,");
  expect_error(parse_thresholds({{"bogus_thing_entirely", 1}}, Origin::kScenario),
               "unknown threshold 'bogus_thing_entirely'; known:");
  expect_error(parse_thresholds({{"isolation", 2}}, Origin::kScenario),
               "isolation: 2 is not a switch; use 1 (on) or 0 (off)");
  expect_error(parse_thresholds({{"starvation", 0.5}}, Origin::kScenario),
               "starvation: 0.5 is not a switch");
  expect_error(parse_thresholds({{"max_gap_ms", -5}}, Origin::kScenario),
               "max_gap_ms: -5 is out of range; use a value > 0 ms, or inf to turn the check off");
  expect_error(parse_thresholds({{"max_gap_ms", 0}}, Origin::kScenario), "max_gap_ms: 0 is out");
  expect_error(parse_thresholds({{"max_spread_pct", 150}}, Origin::kScenario),
               "max_spread_pct: 150 is out of range; use a value in 0..100 %, or inf");
  expect_error(parse_thresholds({{"min_numa_locality", 1.5}}, Origin::kScenario),
               "min_numa_locality: 1.5 is out of range; use a value in 0..1");
  expect_error(parse_thresholds({{"min_work_rate", kInf}}, Origin::kScenario),
               "min_work_rate: inf is out of range; use a value >= 0 /s");
  expect_error(parse_thresholds({{"max_p99_wake_latency_us", std::nan("")}}, Origin::kScenario),
               "max_p99_wake_latency_us: n/a is out of range");
  expect_error(parse_thresholds({{"max_gap_ms", -kInf}}, Origin::kScenario), "max_gap_ms: -inf");
  // Every problem at once, still one line.
  const std::string all = expect_error(
      parse_thresholds({{"isolation", 3}, {"max_gap_ms", -1}, {"nope", 1}}, Origin::kScenario),
      "; ");
  EXPECT_NE(all.find("isolation: 3"), std::string::npos) << all;
  EXPECT_NE(all.find("max_gap_ms: -1"), std::string::npos) << all;
  EXPECT_NE(all.find("unknown threshold 'nope'"), std::string::npos) << all;
}

TEST(Thresholds, FailedSetLeavesTheKnobAlone) {
  Thresholds t;
  ASSERT_TRUE(set_threshold(t, "max_gap_ms", 3000, Origin::kScheduler).ok());
  EXPECT_FALSE(set_threshold(t, "max_gap_ms", -1, Origin::kScenario).ok());
  EXPECT_EQ(t.max_gap_ms.value, 3000.0);
  EXPECT_EQ(t.max_gap_ms.origin, Origin::kScheduler);
}

TEST(Thresholds, TcgPolicyPerKnob) {
  EXPECT_EQ(tcg_policy("starvation"), TcgPolicy::kStrict);
  EXPECT_EQ(tcg_policy("isolation"), TcgPolicy::kStrict);
  EXPECT_EQ(tcg_policy("max_spread_pct"), TcgPolicy::kScaled);
  EXPECT_EQ(tcg_policy("max_migration_ratio"), TcgPolicy::kStrict);
  EXPECT_EQ(tcg_policy("min_numa_locality"), TcgPolicy::kStrict);
  EXPECT_EQ(tcg_policy("max_gap_ms"), TcgPolicy::kScaled);
  for (auto k : {"max_throughput_cv", "min_work_rate", "max_p99_wake_latency_us",
                 "max_wake_latency_cv", "min_iteration_rate"})
    EXPECT_EQ(tcg_policy(k), TcgPolicy::kAdvisory) << k;
  // The monitor widens its sustain window under TCG instead of scaling
  // limits; its event rates (per host second) are advisory there.
  for (auto k : {"monitor_warmup_samples", "monitor_sustain_samples", "monitor_max_imbalance_ratio",
                 "monitor_max_local_dsq_depth", "monitor_stall"})
    EXPECT_EQ(tcg_policy(k), TcgPolicy::kStrict) << k;
  EXPECT_EQ(tcg_policy("monitor_max_fallback_rate"), TcgPolicy::kAdvisory);
  EXPECT_EQ(tcg_policy("monitor_max_keep_last_rate"), TcgPolicy::kAdvisory);
  EXPECT_EQ(tcg_policy("unknown"), TcgPolicy::kStrict);
  EXPECT_EQ(to_string(TcgPolicy::kAdvisory), "advisory");
  EXPECT_EQ(to_string(Origin::kScheduler), "scheduler");
}

// The row of `key` in to_text's output, whitespace-split.
std::vector<std::string> row(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + " ", 0) != 0) continue;
    std::vector<std::string> words;
    std::istringstream w(line);
    for (std::string s; w >> s;) words.push_back(s);
    return words;
  }
  ADD_FAILURE() << "no row for " << key << " in:\n" << text;
  return {};
}

TEST(Thresholds, ToTextShowsResolvedValuesAndWhereTheyCameFrom) {
  const Thresholds m =
      merge(parse({{"max_gap_ms", 3000}, {"isolation", 1}}, Origin::kScheduler),
            parse({{"max_spread_pct", kInf}, {"min_work_rate", 50}}, Origin::kScenario));
  const std::string text = to_text(m);
  EXPECT_EQ(text.rfind("threshold", 0), 0u) << text;
  auto r = row(text, "starvation");
  ASSERT_GE(r.size(), 4u);
  EXPECT_EQ(r[1], "on");
  EXPECT_EQ(r[2], "default");
  EXPECT_EQ(r[3], "strict");
  r = row(text, "max_gap_ms");
  ASSERT_GE(r.size(), 5u);
  EXPECT_EQ(r[1] + " " + r[2], "3000 ms");
  EXPECT_EQ(r[3], "scheduler");
  EXPECT_EQ(r[4], "×");  // "× time scale"
  r = row(text, "max_spread_pct");
  EXPECT_EQ(r[1], "off");
  EXPECT_EQ(r[2], "scenario");
  r = row(text, "min_work_rate");
  EXPECT_EQ(r[1] + " " + r[2], "50 /s");
  EXPECT_EQ(r[4], "advisory");
  r = row(text, "max_throughput_cv");
  EXPECT_EQ(r[1], "off");
  EXPECT_EQ(r[2], "default");
  // Aligned: the value column starts at the same offset on every line.
  std::istringstream in(text);
  std::string line;
  size_t lines = 0;
  const size_t col = text.find("value");
  while (std::getline(in, line)) {
    ++lines;
    ASSERT_GT(line.size(), col) << line;
    EXPECT_EQ(line[col - 1], ' ') << line;
    EXPECT_NE(line[col], ' ') << line;
  }
  EXPECT_EQ(lines, 1 + known_threshold_keys().size());
}

TEST(Thresholds, ToJson) {
  const Thresholds m = parse({{"max_gap_ms", 3000}, {"max_spread_pct", kInf}}, Origin::kScenario);
  const auto j = to_json(m);
  EXPECT_EQ(j.size(), known_threshold_keys().size());
  EXPECT_EQ(j["max_gap_ms"]["value"], 3000.0);
  EXPECT_EQ(j["max_gap_ms"]["source"], "scenario");
  EXPECT_TRUE(j["max_spread_pct"]["value"].is_null());
  EXPECT_EQ(j["max_spread_pct"]["source"], "scenario");
  EXPECT_EQ(j["starvation"]["value"], true);
  EXPECT_EQ(j["isolation"]["value"], false);
  EXPECT_EQ(j["isolation"]["source"], "default");
  EXPECT_TRUE(j["min_numa_locality"]["value"].is_null());
  EXPECT_EQ(j["monitor_sustain_samples"]["value"], 5.0);
  EXPECT_EQ(j["monitor_stall"]["value"], true);
}

}  // namespace
}  // namespace ktstr::check
