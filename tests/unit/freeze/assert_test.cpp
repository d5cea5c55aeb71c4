// Snapshot assertions: selection, paths, each kind passing and failing.
#include <gtest/gtest.h>

#include "freeze/assert.h"

namespace ktstr::freeze {
namespace {

using scenario::AssertKind;
using scenario::CompareOp;
using scenario::SnapshotAssertion;

Snapshot snap(std::string name, Trigger trigger, uint64_t t_ms, uint64_t vtime,
              uint64_t workload_ms = 0) {
  Snapshot s;
  s.name = std::move(name);
  s.trigger = trigger;
  s.t_ms = t_ms;
  s.workload_ms = workload_ms;
  s.step = 1;
  s.globals = {{"scx_nr_dispatched", vtime / 10}, {"state", "enabled"}, {"flag", true}};
  monitor::CpuSample c0;
  c0.cpu = 0;
  c0.nr_running = 2;
  monitor::CpuSample c1;
  c1.cpu = 1;
  c1.nr_running = 4;
  s.sched.cpus = {c0, c1};
  MapDump bss;
  bss.id = 1;
  bss.name = "scx_simple.bss";
  bss.value = {{"vtime_now", vtime}, {"nr_queued", 3}};
  MapDump data;
  data.id = 2;
  data.name = "scx_simple.data";
  data.value = {{"value", 11}, {"slice_ns", 5000000}};
  MapDump stats;
  stats.id = 3;
  stats.name = "stats";
  stats.value = nlohmann::json::array({{{"nr_enq", 5}}, {{"nr_enq", 7}}});
  MapDump other;
  other.id = 4;
  other.name = "other.data";
  other.value = {{"x", 1}};
  s.maps = {bss, data, stats, other};
  return s;
}

std::vector<Snapshot> periodic(std::vector<uint64_t> vtimes, uint64_t interval_ms = 1000) {
  std::vector<Snapshot> out;
  out.push_back(snap("before", Trigger::kRequest, 0, 0));
  for (size_t i = 0; i < vtimes.size(); ++i)
    out.push_back(snap("periodic#" + std::to_string(i + 1), Trigger::kPeriodic,
                       (i + 1) * interval_ms, vtimes[i]));
  return out;
}

SnapshotAssertion series(std::string path, AssertKind kind) {
  SnapshotAssertion a;
  a.series = "periodic";
  a.path = std::move(path);
  a.kind = kind;
  return a;
}

SnapshotAssertion single(std::string name, std::string path, CompareOp op,
                         scenario::AssertValue v) {
  SnapshotAssertion a;
  a.snapshot = std::move(name);
  a.path = std::move(path);
  a.op = op;
  a.value = std::move(v);
  return a;
}

// --- paths ------------------------------------------------------------

nlohmann::json resolved(std::string_view path) {
  auto r = resolve_path(snap("s", Trigger::kRequest, 0, 2001).to_json(), path);
  EXPECT_TRUE(r.ok()) << path << ": " << r.error().message();
  return r.ok() ? *r : nlohmann::json();
}

std::string path_error(std::string_view path) {
  auto r = resolve_path(snap("s", Trigger::kRequest, 0, 2001).to_json(), path);
  EXPECT_FALSE(r.ok()) << path;
  return r.ok() ? "" : r.error().message();
}

TEST(AssertPath, KeysIndicesAndMaps) {
  EXPECT_EQ(resolved("cpus[1].nr_running"), 4);
  EXPECT_EQ(resolved("globals.scx_nr_dispatched"), 200);
  EXPECT_EQ(resolved("name"), "s");
  EXPECT_EQ(resolved("maps[.bss].vtime_now"), 2001);
  EXPECT_EQ(resolved("maps[scx_simple.bss].vtime_now"), 2001);
  EXPECT_EQ(resolved("maps[stats][1].nr_enq"), 7);
  EXPECT_EQ(resolved("maps.bss.vtime_now"), 2001);
  EXPECT_EQ(resolved("maps.scx_simple.bss.vtime_now"), 2001);
  EXPECT_EQ(resolved("maps.scx_simple.bss.value.vtime_now"), 2001);
  EXPECT_EQ(resolved("maps.stats[0].nr_enq"), 5);
  // A value with its own "value" key keeps it.
  EXPECT_EQ(resolved("maps[simple.data].value"), 11);
}

TEST(AssertPath, ErrorsNameWhatExists) {
  EXPECT_EQ(path_error("maps[.bss].vtime_nw"),
            "no key 'vtime_nw' in maps[.bss] (keys: nr_queued, vtime_now)");
  EXPECT_EQ(path_error("maps[.data].x"),
            "map '.data' is ambiguous: matches other.data, scx_simple.data");
  EXPECT_NE(path_error("maps[nope].x").find("no map matches 'nope' (maps: other.data, "
                                            "scx_simple.bss, scx_simple.data, stats)"),
            std::string::npos);
  EXPECT_EQ(path_error("cpus[5].nr_running"), "index [5] out of range: cpus has 2 elements");
  EXPECT_EQ(path_error("cpus.x"), "cpus is array, not an object (looking for 'x')");
  EXPECT_EQ(path_error("cpus[x]"), "[x] is not a list index");
  EXPECT_EQ(path_error("globals..x"), "empty key at offset 8");
  EXPECT_EQ(path_error("cpus[0"), "'[' at offset 4 is not closed");
  EXPECT_NE(path_error("nope").find("no key 'nope' in the snapshot (keys: cpus, errors"),
            std::string::npos);
}

// --- comparisons ------------------------------------------------------

TEST(Assert, ComparisonPassesAndFails) {
  auto snaps = periodic({100, 200});
  auto ok = evaluate_assertion(single("before", "cpus[0].nr_running", CompareOp::kLt, 5.0), snaps);
  EXPECT_TRUE(ok.passed) << ok.message;
  EXPECT_EQ(ok.message, "assert[0] cpus[0].nr_running lt 5 passed (1 snapshot)");
  auto bad = evaluate_assertion(single("before", "cpus[1].nr_running", CompareOp::kLt, 3.0),
                                snaps, 2);
  EXPECT_FALSE(bad.passed);
  EXPECT_EQ(bad.message, "assert[2] cpus[1].nr_running lt 3 failed: 4 is not lt 3 at 'before' (step 1)");
  EXPECT_EQ(bad.detail["series"][0]["value"], 4);
}

TEST(Assert, ComparesStringsAndBooleans) {
  auto snaps = periodic({100});
  EXPECT_TRUE(evaluate_assertion(single("before", "globals.state", CompareOp::kEq,
                                        std::string("enabled")), snaps).passed);
  EXPECT_FALSE(evaluate_assertion(single("before", "globals.state", CompareOp::kNe,
                                         std::string("enabled")), snaps).passed);
  EXPECT_TRUE(evaluate_assertion(single("before", "globals.flag", CompareOp::kEq, true), snaps).passed);
  auto r = evaluate_assertion(single("before", "globals.state", CompareOp::kLt, 3.0), snaps);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("\"enabled\" is not a number"), std::string::npos) << r.message;
}

TEST(Assert, WatchNameMatchesEveryCapture) {
  std::vector<Snapshot> snaps = {snap("watch:scx_x#1", Trigger::kWatch, 10, 5),
                                 snap("watch:scx_x#2", Trigger::kWatch, 20, 50)};
  auto r = evaluate_assertion(single("watch:scx_x", "maps[.bss].vtime_now", CompareOp::kLt, 10.0), snaps);
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("50 is not lt 10 at 'watch:scx_x#2'"), std::string::npos) << r.message;
  EXPECT_EQ(r.detail["series"].size(), 2u);
}

TEST(Assert, MissingSnapshotOrPathFails) {
  auto snaps = periodic({100});
  auto r = evaluate_assertion(single("aftr", "cpus[0].nr_running", CompareOp::kLt, 5.0), snaps);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "assert[0] cpus[0].nr_running lt 5 failed: no snapshot named 'aftr' "
                       "(snapshots: before, periodic#1)");
  r = evaluate_assertion(single("before", "maps[.bss].vtime_nw", CompareOp::kLt, 5.0), snaps);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "assert[0] maps[.bss].vtime_nw lt 5 failed: path 'maps[.bss].vtime_nw' "
                       "at 'before': no key 'vtime_nw' in maps[.bss] (keys: nr_queued, vtime_now)");
  auto none = evaluate_assertion(series("maps[.bss].vtime_now", AssertKind::kNonDecreasing),
                                 {snap("x", Trigger::kRequest, 0, 0)});
  EXPECT_FALSE(none.passed);
  EXPECT_NE(none.message.find("no periodic snapshots were taken"), std::string::npos);
}

// --- kinds ------------------------------------------------------------

TEST(Assert, NonDecreasing) {
  auto a = series("maps[.bss].vtime_now", AssertKind::kNonDecreasing);
  EXPECT_TRUE(evaluate_assertion(a, periodic({1, 2, 2, 3})).passed);
  auto r = evaluate_assertion(a, periodic({1500, 2001, 1834}));
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "assert[0] maps[.bss].vtime_now non_decreasing failed: 1834 at "
                       "'periodic#3' (step 1) < 2001 at 'periodic#2'");
  EXPECT_EQ(r.detail["series"].size(), 3u);
}

TEST(Assert, NonIncreasing) {
  auto a = series("maps[.bss].vtime_now", AssertKind::kNonIncreasing);
  EXPECT_TRUE(evaluate_assertion(a, periodic({3, 2, 2, 1})).passed);
  auto r = evaluate_assertion(a, periodic({1500, 2001}));
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "assert[0] maps[.bss].vtime_now non_increasing failed: 2001 at "
                       "'periodic#2' (step 1) > 1500 at 'periodic#1'");
}

TEST(Assert, SeriesIsInTimeOrder) {
  auto snaps = periodic({1, 2, 3});
  std::swap(snaps[1], snaps[3]);  // capture order scrambled, t_ms intact
  EXPECT_TRUE(evaluate_assertion(series("maps[.bss].vtime_now", AssertKind::kNonDecreasing), snaps)
                  .passed);
}

TEST(Assert, RateUsesWorkloadTimeElseHostTime) {
  auto a = series("maps[.bss].vtime_now", AssertKind::kRate);
  a.min = 90;
  a.max = 110;
  auto snaps = periodic({0, 100, 200});  // 200 over 2 s of t_ms
  auto r = evaluate_assertion(a, snaps);
  EXPECT_TRUE(r.passed) << r.message;
  EXPECT_EQ(r.detail["rate_per_s"], 100.0);
  snaps[1].workload_ms = 1000;
  snaps[3].workload_ms = 1500;  // 200 over 0.5 s of workload time
  r = evaluate_assertion(a, snaps);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "assert[0] maps[.bss].vtime_now rate min 90 max 110 failed: rate 400/s "
                       "(0 -> 200 over 0.5 s, 'periodic#1' -> 'periodic#3') is not [90, 110]");
  auto one = evaluate_assertion(a, periodic({5}));
  EXPECT_FALSE(one.passed);
  EXPECT_NE(one.message.find("needs two snapshots"), std::string::npos);
  auto still = evaluate_assertion(a, periodic({5, 6}, 0));
  EXPECT_FALSE(still.passed);
  EXPECT_NE(still.message.find("no time passed"), std::string::npos) << still.message;
}

TEST(Assert, Steady) {
  auto a = series("maps[.bss].vtime_now", AssertKind::kSteady);
  a.band = 10;
  EXPECT_TRUE(evaluate_assertion(a, periodic({100, 105, 110})).passed);
  auto r = evaluate_assertion(a, periodic({100, 125, 110}));
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "assert[0] maps[.bss].vtime_now steady band 10 failed: spread 25 > band 10: "
                       "min 100 at 'periodic#1' (step 1), max 125 at 'periodic#2' (step 1)");
}

TEST(Assert, Converges) {
  auto a = series("maps[.bss].vtime_now", AssertKind::kConverges);
  a.value = 100.0;
  a.tolerance = 5;
  EXPECT_TRUE(evaluate_assertion(a, periodic({10, 50, 97})).passed);
  auto r = evaluate_assertion(a, periodic({10, 97, 80}));
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "assert[0] maps[.bss].vtime_now converges 100 tolerance 5 failed: last "
                       "value 80 at 'periodic#3' (step 1) is 20 from 100 (tolerance 5)");
}

TEST(Assert, Always) {
  auto a = series("maps[.bss].vtime_now", AssertKind::kAlways);
  a.op = CompareOp::kGe;
  a.value = 10.0;
  EXPECT_TRUE(evaluate_assertion(a, periodic({10, 20})).passed);
  auto r = evaluate_assertion(a, periodic({10, 9, 20}));
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.message, "assert[0] maps[.bss].vtime_now always ge 10 failed: 9 is not ge 10 at "
                       "'periodic#2' (step 1)");
}

TEST(Assert, Ratio) {
  SnapshotAssertion a;
  a.snapshots = {"periodic#1", "periodic#2"};
  a.path = "globals.scx_nr_dispatched";
  a.path2 = "maps[.bss].vtime_now";
  a.kind = AssertKind::kRatio;
  a.min = 0.09;
  a.max = 0.11;
  EXPECT_TRUE(evaluate_assertion(a, periodic({100, 200})).passed);
  a.path2 = "cpus[1].nr_running";
  auto r = evaluate_assertion(a, periodic({100, 200}));
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("ratio 2.5 (10 / 4) at 'periodic#1' (step 1) is not [0.09, 0.11]"),
            std::string::npos) << r.message;
  a.path2 = "maps[.bss].vtime_now";
  r = evaluate_assertion(a, periodic({0, 200}));
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("is 0 at 'periodic#1'"), std::string::npos) << r.message;
  a.path2 = "maps[.bss].nope";
  r = evaluate_assertion(a, periodic({1, 2}));
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("path2 'maps[.bss].nope'"), std::string::npos) << r.message;
}

TEST(Assert, SnapshotsListInGivenOrder) {
  SnapshotAssertion a;
  a.snapshots = {"periodic#2", "periodic#1"};
  a.path = "maps[.bss].vtime_now";
  a.kind = AssertKind::kNonDecreasing;
  EXPECT_FALSE(evaluate_assertion(a, periodic({1, 2})).passed);
  a.snapshots = {"periodic#1", "gone"};
  auto r = evaluate_assertion(a, periodic({1, 2}));
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("no snapshot named 'gone'"), std::string::npos);
}

TEST(Assert, NonNumbersFailOrderingKinds) {
  auto r = evaluate_assertion(series("globals.state", AssertKind::kNonDecreasing), periodic({1, 2}));
  EXPECT_FALSE(r.passed);
  EXPECT_NE(r.message.find("\"enabled\" at 'periodic#1' (step 1) is not a number"),
            std::string::npos) << r.message;
}

TEST(Assert, EvaluateAllNumbersThem) {
  std::vector<SnapshotAssertion> as = {single("before", "cpus[0].nr_running", CompareOp::kEq, 2.0),
                                       single("before", "cpus[0].nr_running", CompareOp::kEq, 3.0)};
  auto rs = evaluate_assertions(as, periodic({1}));
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_TRUE(rs[0].passed);
  EXPECT_FALSE(rs[1].passed);
  EXPECT_TRUE(rs[1].message.starts_with("assert[1] "));
}

}  // namespace
}  // namespace ktstr::freeze
