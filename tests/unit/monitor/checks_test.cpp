// The monitor's checks on hand-made timelines: warm-up, sustain window,
// exemptions (paused, host-starved), the TCG window, event rates, messages.
#include "monitor/checks.h"

#include <gtest/gtest.h>

#include <functional>

namespace ktstr::monitor {
namespace {

// n samples 100 ms apart on `cpus` CPUs, each busy with one task whose rq
// clock advances 100 ms per sample; `edit` changes sample i.
Timeline timeline(size_t n, uint32_t cpus, const std::function<void(size_t, Sample&)>& edit = {}) {
  Timeline t;
  for (size_t i = 0; i < n; ++i) {
    Sample s;
    s.t_ms = 100 * i;
    s.step = i < n / 2 ? 0 : 1;
    s.global.scx_state = "enabled";
    s.global.events = {{"SELECT_CPU_FALLBACK", int64_t(i)}, {"DISPATCH_KEEP_LAST", 0}};
    for (uint32_t c = 0; c < cpus; ++c) {
      CpuSample cs;
      cs.cpu = c;
      cs.nr_running = 1;
      cs.scx_nr_running = 1;
      cs.local_dsq_depth = 0;
      cs.rq_clock = 1'000'000 + 100'000'000ull * i;
      s.cpus.push_back(cs);
    }
    if (edit) edit(i, s);
    t.samples.push_back(std::move(s));
  }
  return t;
}

check::Limits defaults() { return check::resolve(check::Thresholds{}); }

// Freezes cpu's rq clock from sample `from` for `count` samples (intervals
// from..from+count-1 ending at those samples do not advance).
std::function<void(size_t, Sample&)> stall(uint32_t cpu, size_t from, size_t count) {
  return [=](size_t i, Sample& s) {
    if (i >= from && i < from + count)
      s.cpus[cpu].rq_clock = 1'000'000 + 100'000'000ull * (from - 1);
  };
}

const MonitorFailure* find(const MonitorVerdict& v, const std::string& metric) {
  for (const auto& f : v.failures)
    if (f.metric == metric) return &f;
  return nullptr;
}

TEST(MonitorChecks, HealthyRunPasses) {
  const auto v = evaluate(timeline(60, 4), defaults(), false);
  EXPECT_TRUE(v.evaluated);
  EXPECT_TRUE(v.passed()) << v.summary();
  EXPECT_EQ(v.summary(), "monitor passed");
}

TEST(MonitorChecks, TooFewSamplesIsNotEvaluated) {
  const auto v = evaluate(timeline(20, 4, stall(1, 1, 19)), defaults(), false);
  EXPECT_FALSE(v.evaluated);
  EXPECT_TRUE(v.passed());
  EXPECT_NE(v.summary().find("warm-up of 20"), std::string::npos) << v.summary();
}

TEST(MonitorChecks, StallSustainedFailsWithOneLineMessage) {
  // Intervals ending at samples 30..37 do not advance on CPUs 1 and 3.
  auto t = timeline(60, 4, [](size_t i, Sample& s) {
    stall(1, 30, 8)(i, s);
    stall(3, 31, 5)(i, s);
    if (i >= 29 && i < 38) s.cpus[1].nr_running = 2, s.cpus[1].scx_nr_running = 2;
  });
  const auto v = evaluate(t, defaults(), false);
  ASSERT_EQ(v.failures.size(), 1u) << v.summary();
  const MonitorFailure& f = v.failures[0];
  EXPECT_EQ(f.metric, "stall");
  EXPECT_EQ(f.cpu, 1u);
  EXPECT_EQ(f.cpus, (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(f.value, 8);
  EXPECT_EQ(f.limit, 5);
  EXPECT_EQ(f.t_ms, 2900u);
  EXPECT_EQ(f.step, 0u);
  EXPECT_EQ(f.message,
            "monitor: stall on cpu 1,3: no progress (rq clock stood still or the CPU idled) for 8 "
            "samples (800 ms) with 2 runnable tasks, from 2.9 s (step 0); limit 5 samples");
  EXPECT_EQ(v.summary(),
            "monitor failed: stall on cpu 1,3: no progress (rq clock stood still or the CPU idled) "
            "for 8 samples (800 ms) with 2 runnable tasks, from 2.9 s (step 0); limit 5 samples");
}

TEST(MonitorChecks, StallShorterThanTheWindowPasses) {
  EXPECT_TRUE(evaluate(timeline(60, 4, stall(2, 30, 4)), defaults(), false).passed());
  EXPECT_FALSE(evaluate(timeline(60, 4, stall(2, 30, 5)), defaults(), false).passed());
}

TEST(MonitorChecks, IdleCpuWithStillClockIsNoStall) {
  auto t = timeline(60, 2, [](size_t i, Sample& s) {
    stall(0, 25, 30)(i, s);
    if (i >= 24) s.cpus[0].nr_running = 0, s.cpus[0].scx_nr_running = 0;
  });
  EXPECT_TRUE(evaluate(t, defaults(), false).passed());
  // Runnable by sched_ext's count alone is enough.
  auto u = timeline(60, 2, [](size_t i, Sample& s) {
    stall(0, 25, 30)(i, s);
    if (i >= 24) s.cpus[0].nr_running = 0;
  });
  EXPECT_FALSE(evaluate(u, defaults(), false).passed());
}

// A CPU that idles with runnable tasks is stalled even when timer wake-ups
// move its rq clock now and then (a sched_ext scheduler stopped dispatching
// to it); a busy CPU whose task changes is not.
TEST(MonitorChecks, IdlingWithRunnableTasksIsAStallEvenWhenTheClockMoves) {
  auto idle_from = [](size_t from) {
    return [from](size_t i, Sample& s) {
      for (auto& c : s.cpus) c.curr_pid = 100 + c.cpu;
      if (i >= from) s.cpus[1].curr_pid = 0;
    };
  };
  auto v = evaluate(timeline(60, 2, idle_from(30)), defaults(), false);
  const MonitorFailure* f = find(v, "stall");
  ASSERT_NE(f, nullptr) << v.summary();
  EXPECT_EQ(f->cpus, std::vector<uint32_t>{1});
  // Idle at one instant only (the task just blocked): no stall.
  auto blip = timeline(60, 2, [](size_t i, Sample& s) {
    for (auto& c : s.cpus) c.curr_pid = (i % 2 && c.cpu == 1) ? 0 : 100 + c.cpu;
  });
  EXPECT_TRUE(evaluate(blip, defaults(), false).passed());
}

TEST(MonitorChecks, WarmupSamplesAreNotJudged) {
  // Stuck from the start through sample 24: only 5 judged intervals remain
  // (20..24), exactly the window.
  EXPECT_FALSE(evaluate(timeline(60, 2, stall(0, 1, 24)), defaults(), false).passed());
  // Through sample 23: 4 judged intervals, below the window.
  EXPECT_TRUE(evaluate(timeline(60, 2, stall(0, 1, 23)), defaults(), false).passed());
  check::Limits l = defaults();
  l.monitor_warmup_samples = 0;
  EXPECT_FALSE(evaluate(timeline(60, 2, stall(0, 1, 10)), l, false).passed());
}

TEST(MonitorChecks, PausedAndStarvedIntervalsNeitherCountNorBreak) {
  // 8 stuck intervals, 4 of them exempt: only 4 count -> passes.
  auto exempt4 = timeline(60, 2, [](size_t i, Sample& s) {
    stall(0, 30, 8)(i, s);
    if (i == 31 || i == 33) s.paused = true;
    if (i == 35 || i == 36) s.host_starved = 0.8;
  });
  EXPECT_TRUE(evaluate(exempt4, defaults(), false).passed());
  // 7 stuck intervals, 2 exempt in the middle: 5 count, the exempt ones do
  // not break the run -> fails, and the run's span covers them.
  auto exempt2 = timeline(60, 2, [](size_t i, Sample& s) {
    stall(0, 30, 7)(i, s);
    if (i == 32) s.paused = true;
    if (i == 34) s.host_starved = 0.51;
  });
  const auto v = evaluate(exempt2, defaults(), false);
  ASSERT_FALSE(v.passed());
  EXPECT_NE(v.failures[0].message.find("for 5 samples (700 ms)"), std::string::npos)
      << v.failures[0].message;
  // host_starved at exactly 0.5 is not exempt.
  auto half = timeline(60, 2, [](size_t i, Sample& s) {
    stall(0, 30, 5)(i, s);
    s.host_starved = 0.5;
  });
  EXPECT_FALSE(evaluate(half, defaults(), false).passed());
}

TEST(MonitorChecks, ExemptIntervalWhereTheClockMovedEndsTheRun) {
  // Stuck 30..32, paused interval at 33 in which the clock advanced, stuck
  // again 34..36: two runs of 3, neither reaches 5.
  auto t = timeline(60, 2, [](size_t i, Sample& s) {
    stall(0, 30, 3)(i, s);
    stall(0, 34, 3)(i, s);
    if (i == 33) s.paused = true;
  });
  EXPECT_TRUE(evaluate(t, defaults(), false).passed());
}

TEST(MonitorChecks, MissingDataEndsARun) {
  auto t = timeline(60, 2, [](size_t i, Sample& s) {
    stall(0, 30, 8)(i, s);
    if (i == 33) s.cpus[0].rq_clock.reset(), s.cpus[0].error = "read failed";
  });
  // Runs 30..32 (3) and 35..37 (interval 34 compares with a missing sample): pass.
  EXPECT_TRUE(evaluate(t, defaults(), false).passed());
}

TEST(MonitorChecks, TcgWidensTheWindowToThreeRoundsOfAllCpus) {
  // 8 CPUs: window max(5, 24) = 24 samples under TCG.
  auto t = timeline(100, 8, stall(5, 30, 20));
  EXPECT_FALSE(evaluate(t, defaults(), false).passed());
  EXPECT_TRUE(evaluate(t, defaults(), true).passed());
  const auto v = evaluate(timeline(100, 8, stall(5, 30, 24)), defaults(), true);
  ASSERT_FALSE(v.passed());
  EXPECT_NE(v.failures[0].message.find("limit 24 samples (3 × 8 CPUs under TCG)"),
            std::string::npos)
      << v.failures[0].message;
  EXPECT_EQ(v.failures[0].limit, 24);
  // A knob above 3 x CPUs wins under TCG too.
  check::Limits l = defaults();
  l.monitor_sustain_samples = 30;
  EXPECT_TRUE(evaluate(timeline(100, 8, stall(5, 30, 29)), l, true).passed());
  // On 1 CPU the knob (5) is already above 3 x 1.
  EXPECT_FALSE(evaluate(timeline(60, 1, stall(0, 30, 5)), defaults(), true).passed());
}

TEST(MonitorChecks, StallCheckCanBeTurnedOff) {
  check::Limits l = defaults();
  l.monitor_stall = false;
  const auto v = evaluate(timeline(60, 2, stall(0, 25, 30)), l, false);
  EXPECT_TRUE(v.passed());
  EXPECT_NE(::testing::PrintToString(v.notes).find("stall check off"), std::string::npos);
}

TEST(MonitorChecks, Imbalance) {
  // CPU 2 has 9 tasks, CPU 0 has 0 (ratio 9 / max(1, 0) = 9) for 6 samples.
  auto t = timeline(60, 4, [](size_t i, Sample& s) {
    if (i >= 40 && i < 46) s.cpus[2].nr_running = 9, s.cpus[0].nr_running = 0;
  });
  const auto v = evaluate(t, defaults(), false);
  const MonitorFailure* f = find(v, "imbalance");
  ASSERT_TRUE(f) << v.summary();
  EXPECT_EQ(f->value, 9);
  EXPECT_EQ(f->limit, 4);
  EXPECT_EQ(f->t_ms, 4000u);
  EXPECT_EQ(f->step, 1u);
  EXPECT_EQ(f->message,
            "monitor: imbalance 9 (cpu 2 has 9 runnable tasks, cpu 0 has 0) for 6 samples (600 "
            "ms), from 4.0 s (step 1); limit 4, sustained 5 samples");
  // Exactly at the limit passes: 4 vs 1.
  auto at = timeline(60, 4, [](size_t, Sample& s) { s.cpus[2].nr_running = 4; });
  EXPECT_TRUE(evaluate(at, defaults(), false).passed());
  check::Limits off = defaults();
  off.monitor_max_imbalance_ratio.reset();
  EXPECT_TRUE(evaluate(t, off, false).passed());
}

TEST(MonitorChecks, LocalDsqDepthPerCpu) {
  auto t = timeline(60, 4, [](size_t i, Sample& s) {
    if (i >= 30 && i < 36) s.cpus[3].local_dsq_depth = 51 + uint32_t(i - 30);
    if (i >= 50) s.cpus[1].local_dsq_depth = 80;
    if (i == 35) s.cpus[1].local_dsq_depth = 50;  // exactly the limit: fine
  });
  const auto v = evaluate(t, defaults(), false);
  const MonitorFailure* f = find(v, "local_dsq_depth");
  ASSERT_TRUE(f) << v.summary();
  EXPECT_EQ(f->cpu, 3u);
  EXPECT_EQ(f->cpus, (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(f->value, 80);
  EXPECT_EQ(f->t_ms, 3000u);
  EXPECT_NE(f->message.find("local DSQ depth on cpu 1,3: up to 80 tasks"), std::string::npos)
      << f->message;
  EXPECT_NE(f->message.find("limit 50 tasks"), std::string::npos) << f->message;
}

TEST(MonitorChecks, EventRates) {
  // 30 fallbacks per 100 ms = 300/s from sample 40 on; keep-last 5 per
  // sample = 50/s, under its 100/s limit.
  auto t = timeline(60, 2, [](size_t i, Sample& s) {
    s.global.events["SELECT_CPU_FALLBACK"] = i < 40 ? int64_t(i) : int64_t(40 + 30 * (i - 40));
    s.global.events["DISPATCH_KEEP_LAST"] = int64_t(5 * i);
  });
  const auto v = evaluate(t, defaults(), false);
  ASSERT_EQ(v.failures.size(), 1u) << v.summary();
  const MonitorFailure& f = v.failures[0];
  EXPECT_EQ(f.metric, "fallback_rate");
  EXPECT_FALSE(f.cpu);
  EXPECT_DOUBLE_EQ(f.value, 300);
  EXPECT_EQ(f.limit, 200);
  EXPECT_EQ(f.t_ms, 4000u);
  EXPECT_EQ(f.message,
            "monitor: select_cpu fallback rate up to 300/s (SCX_EV_SELECT_CPU_FALLBACK) for 19 "
            "samples (1900 ms), from 4.0 s (step 1); limit 200/s, sustained 5 samples");

  // A counter going backwards (a new scheduler) is no evidence either way.
  auto reset = timeline(60, 2, [](size_t i, Sample& s) {
    s.global.events["DISPATCH_KEEP_LAST"] = i == 40 ? 0 : int64_t(1000 * i);
  });
  const auto r = evaluate(reset, defaults(), false);
  const MonitorFailure* k = find(r, "keep_last_rate");
  ASSERT_TRUE(k) << r.summary();
  EXPECT_EQ(k->t_ms, 1900u);
  EXPECT_NE(k->message.find("for 20 samples"), std::string::npos) << k->message;

  // Under TCG the rates are advisory: a note, no failure.
  const auto tcg = evaluate(t, defaults(), true);
  EXPECT_FALSE(find(tcg, "fallback_rate")) << tcg.summary();
  bool noted = false;
  for (const auto& n : tcg.notes)
    noted = noted || (n.find("select_cpu fallback rate") != std::string::npos &&
                      n.find("[emulated (TCG): rate advisory]") != std::string::npos);
  EXPECT_TRUE(noted);
}

TEST(MonitorChecks, NotesForMissingMetricsAndNonEnabledSamples) {
  auto t = timeline(60, 2, [](size_t i, Sample& s) {
    s.global.events.clear();
    for (auto& c : s.cpus) c.local_dsq_depth.reset();
    if (i >= 50) s.global.scx_state = "disabling";
  });
  const auto v = evaluate(t, defaults(), false);
  EXPECT_TRUE(v.passed());
  const std::string notes = ::testing::PrintToString(v.notes);
  EXPECT_NE(notes.find("local DSQ depth not checked"), std::string::npos) << notes;
  EXPECT_NE(notes.find("no SCX_EV_SELECT_CPU_FALLBACK counter"), std::string::npos) << notes;
  EXPECT_NE(notes.find("10 samples with sched_ext not enabled"), std::string::npos) << notes;
}

TEST(MonitorChecks, SamplesWithSchedExtNotEnabledAreNotJudged) {
  auto t = timeline(60, 2, [](size_t i, Sample& s) {
    stall(0, 30, 20)(i, s);
    if (i >= 30) s.global.scx_state = "disabled";
  });
  EXPECT_TRUE(evaluate(t, defaults(), false).passed());
}

TEST(MonitorChecks, JsonCarriesEveryFailureField) {
  const auto v = evaluate(timeline(60, 4, stall(1, 30, 6)), defaults(), false);
  const auto j = to_json(v);
  EXPECT_EQ(j["evaluated"], true);
  EXPECT_EQ(j["passed"], false);
  ASSERT_EQ(j["failures"].size(), 1u);
  EXPECT_EQ(j["failures"][0]["metric"], "stall");
  EXPECT_EQ(j["failures"][0]["cpu"], 1);
  EXPECT_EQ(j["failures"][0]["cpus"], nlohmann::json::array({1}));
  EXPECT_EQ(j["failures"][0]["t_ms"], 2900);
  EXPECT_TRUE(j["notes"].is_array());
  EXPECT_EQ(j["summary"], v.summary());
}

}  // namespace
}  // namespace ktstr::monitor
