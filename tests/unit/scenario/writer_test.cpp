// to_toml: exact round trips (the host sends scenarios to the guest as TOML).
#include "scenario/toml_writer.h"

#include <gtest/gtest.h>

#include <set>

#include "scenario/catalog.h"
#include "scenario/toml_parser.h"

namespace ktstr::scenario {
namespace {

void expect_round_trip(const Scenario& s) {
  std::string text = to_toml(s);
  auto back = parse_scenario_text(text, s.name + ".toml");
  ASSERT_TRUE(back.ok()) << back.error().message() << "\n" << text;
  EXPECT_TRUE(*back == s) << "round trip changed scenario '" << s.name << "':\n" << text;
  EXPECT_EQ(to_toml(*back), text);  // and the text is stable
}

TEST(Writer, EveryCatalogScenarioRoundTrips) {
  auto catalog = load_catalog();
  ASSERT_TRUE(catalog.ok()) << catalog.error().message();
  ASSERT_FALSE(catalog->empty());
  for (const auto& s : *catalog) expect_round_trip(s);
}

constexpr std::string_view kKitchenSink = R"(
name = "kitchen_sink"
category = "interaction"
description = "Every \"field\" \\ and op, with unicode: é → ✓"
duration_s = 3.217
snapshots = 12
[requires]
min_cpus = 4
min_llcs = 2
min_numa_nodes = 2
smt = true
[thresholds]
starvation = true
max_spread_pct = 12.5
max_gap_ms = 2000
isolation = false
max_throughput_cv = 0.1
min_work_rate = 1e-3
max_p99_wake_latency_us = 5000
max_wake_latency_cv = 0.3333333333333333
min_iteration_rate = 10
max_migration_ratio = 0.75
min_numa_locality = 0.9
[[backdrop]]
name = "a"
workers = "3*cpus/2"
work = { type = "sequence", phases = [ { kind = "yield", ms = 3 }, { kind = "sleep", ms = 4 } ], io_bytes = 512 }
cpuset = "range:0.1-0.6"
affinity = "random-subset:3"
policy = "fifo:42"
nice = -7
mempolicy = "preferred:1"
[[backdrop]]
name = "p"
cpuset = "overlap:0/2:30"
children = [
  { name = "x", workers = 0 },
  { name = "y", workers = "llcs", work = "pipe-io", affinity = "exact:0,2-3", policy = "batch", mempolicy = "interleave:0-1" },
  { name = "z", children = [ { name = "deep", workers = 2, nice = 19, policy = "idle", mempolicy = "local" } ] },
]
[[step]]
hold = { fraction = 0.125 }
ops = [
  { op = "add-cgroup", cgroup = { name = "n", workers = 2, work = { type = "bursty", burst_ms = 3, sleep_ms = 0 }, cpuset = "numa:1", affinity = "cross-cgroup" } },
  { op = "add-cgroup", cgroup = { name = "p/w", workers = 1, cpuset = "exact:1" } },
  { op = "add-cgroup", cgroup = { name = "tree", children = [ { name = "leaf", workers = 1 } ] } },
  { op = "set-cpuset", cgroup = "a", cpuset = "llc:1" },
  { op = "clear-cpuset", cgroup = "a" },
  { op = "swap-cpusets", a = "a", b = "n" },
  { op = "spawn", cgroup = "n", count = 2 },
  { op = "spawn", cgroup = "n", count = "cpus/4", work = { type = "cache-yield", buffer_kib = 8, stride = 32 } },
  { op = "stop-cgroup", cgroup = "n" },
  { op = "set-affinity", cgroup = "a", affinity = "single-cpu" },
  { op = "spawn-host", count = "2*llcs", work = { type = "io-sync", sleep_us = 0 } },
  { op = "move-all-tasks", from = "p/y", to = "p/w" },
  { op = "run-payload", name = "bench", argv = ["/bin/sh", "-c", "echo \"hi\"\tthere\n", "\u0001"], cgroup = "p/w" },
  { op = "snapshot", name = "mid" },
  { op = "freeze-worker", cgroup = "a", worker = 0, duration_ms = 1234 },
  { op = "watch-snapshot", symbol = "scx_watchdog_timeout" },
  { op = "kernel-read", target = "symbol", symbol = "nr_cpu_ids", width = 4, tag = "cpus" },
  { op = "kernel-read", target = "symbol", symbol = "init_task", field = "se.vruntime", tag = "vr" },
  { op = "kernel-read", target = "kva", address = "0xffffffff82a01000", width = 1, tag = "byte" },
  { op = "kernel-read", target = "percpu", symbol = "runqueues", field = "nr_running", cpu = 3, tag = "rq3" },
  { op = "kernel-read", target = "task", pid = 1, field = "scx.dsq_vtime", tag = "init_vtime" },
  { op = "kernel-write", target = "symbol", symbol = "scx_slice_dfl", value = "0xffffffffffffffff", tag = "big" },
  { op = "kernel-write", target = "percpu", symbol = "runqueues", field = "nr_running", cpu = 0, width = 2, value = 65535, tag = "w" },
]
[[step]]
hold = { duration_ms = 250 }
ops = [
  { op = "wait-payload", name = "bench", timeout_ms = 999 },
  { op = "run-payload", name = "bench", argv = ["/bin/true"] },
  { op = "kill-payload", name = "bench" },
  { op = "remove-cgroup", cgroup = "n" },
]
[[step]]
hold = { fraction = 0.1, every_ms = 25 }
ops = [ { op = "swap-cpusets", a = "a", b = "p/w" } ]
[[step]]
hold = { duration_ms = 100, every_ms = 10 }
[[step]]
hold = 0.0625
ops = [ { op = "snapshot", name = "end" } ]
[[assert]]
snapshot = "mid"
path = "global.nr_running"
op = "lt"
value = 5
[[assert]]
snapshot = "end"
path = "maps.bss.mode"
op = "eq"
value = "fifo"
[[assert]]
snapshot = "watch:scx_watchdog_timeout#1"
path = "globals.flag"
op = "ne"
value = true
[[assert]]
snapshots = ["mid", "end"]
path = "cpus[0].nr_switches"
kind = "non_decreasing"
[[assert]]
series = "periodic"
path = "global.events"
kind = "rate"
min = 0.5
[[assert]]
series = "periodic"
path = "global.nr_running"
kind = "steady"
band = 2
[[assert]]
series = "periodic"
path = "global.load"
kind = "converges"
value = 1024
tolerance = 64.5
[[assert]]
series = "periodic"
path = "global.nr_running"
kind = "always"
op = "ge"
value = -1
[[assert]]
snapshot = "mid"
path = "cpus[0].nr_running"
kind = "ratio"
path2 = "cpus[1].nr_running"
min = 0.25
max = 4
)";

TEST(Writer, EveryFieldAndOpRoundTrips) {
  auto s = parse_scenario_text(kKitchenSink, "kitchen.toml");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->duration_ms, 3217u);
  EXPECT_EQ(s->thresholds.size(), 11u);
  expect_round_trip(*s);
  // Every op kind is in there.
  std::set<std::string_view> seen;
  for (const auto& step : s->steps)
    for (const auto& op : step.ops) seen.insert(op_name(op));
  EXPECT_EQ(seen.size(), op_names().size());
  EXPECT_EQ(s->snapshots, 12u);
  ASSERT_EQ(s->asserts.size(), 9u);
  EXPECT_EQ(describe(s->asserts[0]), "snapshot 'mid' global.nr_running lt 5");
  EXPECT_EQ(describe(s->asserts[8]),
            "snapshot 'mid' cpus[0].nr_running ratio / cpus[1].nr_running min 0.25 max 4");
  const auto* big = std::get_if<ops::KernelWrite>(&s->steps[0].ops[21]);
  ASSERT_NE(big, nullptr);
  EXPECT_EQ(big->spec.value, UINT64_MAX);
  const auto* kva = std::get_if<ops::KernelRead>(&s->steps[0].ops[18]);
  ASSERT_NE(kva, nullptr);
  EXPECT_EQ(kva->spec.address, 0xffffffff82a01000ull);
  EXPECT_EQ(kva->spec.width, 1);
}

TEST(Writer, HostOpsAndAssertsInCodeRoundTrip) {
  Scenario s;
  s.name = "coded_asserts";
  s.description = "asserts built without a file";
  s.snapshots = 3;
  CgroupDef d;
  d.name = "a";
  s.backdrop.push_back(d);
  KernelOpSpec k;
  k.access = KernelOpSpec::Access::kWrite;
  k.target = KernelOpSpec::Target::kKva;
  k.address = 0xffff888000001000ull;
  k.value = 7;
  k.width = 4;
  k.tag = "poke";
  s.steps.push_back(Step{{ops::Snapshot{"s1"}, ops::KernelWrite{k}, ops::Snapshot{"s2"}},
                         Hold::of_fraction(0.5)});
  SnapshotAssertion a;
  a.snapshots = {"s1", "s2"};
  a.path = "global.x";
  a.kind = AssertKind::kAlways;
  a.op = CompareOp::kGt;
  a.value = 0.1 + 0.2;
  s.asserts.push_back(a);
  SnapshotAssertion b;
  b.series = "periodic";
  b.path = "global.y";
  b.kind = AssertKind::kNonDecreasing;
  s.asserts.push_back(b);
  expect_round_trip(s);
}

TEST(Writer, LeavesDefaultsOut) {
  auto s = parse_scenario_text(R"(
name = "plain"
category = "basic"
description = "plain"
duration_s = 4
[[backdrop]]
name = "a"
workers = 2
work = { type = "mixed", spin_iters = 1024 }
affinity = "inherit"
policy = "normal"
nice = 0
mempolicy = "default"
[[step]]
hold = 0.5
ops = [ { op = "add-cgroup", cgroup = { name = "b", workers = "cpus", work = { type = "mixed", spin_iters = 99 } } } ]
)",
                               "plain.toml");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(to_toml(*s), R"(name = "plain"
category = "basic"
description = "plain"
duration_s = 4

[[backdrop]]
name = "a"
workers = 2
work = "mixed"

[[step]]
hold = { fraction = 0.5 }
ops = [
  { op = "add-cgroup", cgroup = { name = "b", workers = "cpus", work = { type = "mixed", spin_iters = 99 } } },
]
)");
}

TEST(Writer, ScenariosBuiltInCodeRoundTrip) {
  Scenario s;
  s.name = "coded";
  s.category = Category::kNested;
  s.description = "built without a file";
  s.duration_ms = 1;
  s.requirements.min_cpus = 2;
  CgroupDef d;
  d.name = "a";
  d.workers = WorkerCount::fixed(3);
  d.cpuset = topo::CpusetSpec::parse("disjoint:1/2").value();
  d.cpuset->text.clear();  // as if built in code: written from its canonical form
  d.work = workload::default_spec(workload::WorkType::kSequence);
  s.backdrop.push_back(d);
  s.steps.push_back(Step{{ops::SpawnHost{WorkerCount::fixed(1),
                                         workload::default_spec(workload::WorkType::kForkExit)}},
                         Hold::of_fraction(1.0 / 3.0)});
  s.thresholds["min_work_rate"] = 0.1 + 0.2;  // not representable in short decimal
  expect_round_trip(s);
}

}  // namespace
}  // namespace ktstr::scenario
