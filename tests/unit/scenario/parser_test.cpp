// Every field of the scenario format, read from text.
#include "scenario/toml_parser.h"

#include <gtest/gtest.h>

#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::scenario {
namespace {

using workload::WorkType;

Scenario parse_ok(std::string_view text) {
  auto r = parse_scenario_text(text, "t.toml");
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? r.value() : Scenario{};
}

TEST(Parser, MinimalScenarioGetsDefaults) {
  Scenario s = parse_ok(R"(
name = "tiny"
category = "basic"
description = "  one cgroup  "
[[backdrop]]
name = "cg_0"
workers = 2
)");
  EXPECT_EQ(s.name, "tiny");
  EXPECT_EQ(s.category, Category::kBasic);
  EXPECT_EQ(s.description, "one cgroup");  // trimmed
  EXPECT_EQ(s.duration_ms, kDefaultDurationMs);
  EXPECT_TRUE(s.requirements.empty());
  EXPECT_TRUE(s.thresholds.empty());
  EXPECT_TRUE(s.steps.empty());
  ASSERT_EQ(s.backdrop.size(), 1u);
  const CgroupDef& d = s.backdrop[0];
  EXPECT_EQ(d.name, "cg_0");
  EXPECT_EQ(d.workers, WorkerCount::fixed(2));
  EXPECT_TRUE(same_work(d.work, workload::default_spec(WorkType::kCpuSpin)));
  EXPECT_FALSE(d.cpuset.has_value());
  EXPECT_EQ(d.affinity, Affinity{});
  EXPECT_EQ(d.policy, SchedPolicy{});
  EXPECT_EQ(d.nice, 0);
  EXPECT_EQ(d.mempolicy, MemPolicy{});
  EXPECT_TRUE(d.children.empty());
}

TEST(Parser, TopLevelFieldsRequiresAndThresholds) {
  Scenario s = parse_ok(R"(
name = "full"
category = "performance"
description = "everything"
duration_s = 4.25
[requires]
min_cpus = 4
min_llcs = 2
min_numa_nodes = 1
smt = true
[thresholds]
max_gap_ms = 2000
isolation = true
starvation = false
max_throughput_cv = 0.25
[[backdrop]]
name = "a"
workers = 1
)");
  EXPECT_EQ(s.category, Category::kPerformance);
  EXPECT_EQ(s.duration_ms, 4250u);
  EXPECT_EQ(s.requirements, (Requirements{4, 2, 1, true}));
  EXPECT_EQ(s.thresholds.at("max_gap_ms"), 2000.0);
  EXPECT_EQ(s.thresholds.at("isolation"), 1.0);
  EXPECT_EQ(s.thresholds.at("starvation"), 0.0);
  EXPECT_EQ(s.thresholds.at("max_throughput_cv"), 0.25);
}

TEST(Parser, EveryCgroupField) {
  Scenario s = parse_ok(R"(
name = "cg"
category = "nested"
description = "cgroup fields"
[requires]
min_cpus = 4
min_numa_nodes = 2
[[backdrop]]
name = "leaf"
workers = "2*cpus/3"
work = { type = "io-sync", io_bytes = 4096, sleep_us = 50 }
cpuset = "overlap:1/2:25"
affinity = "random-subset:2"
policy = "rr:7"
nice = -20
mempolicy = "interleave:0-1"
[[backdrop]]
name = "parent"
cpuset = "range:0-3"
children = [
  { name = "x", workers = 1, nice = 19, policy = "idle" },
  { name = "y", workers = 0, children = [] },
  { name = "z", children = [ { name = "deep", workers = "llcs", affinity = "exact:0-1,3" } ] },
]
)");
  ASSERT_EQ(s.backdrop.size(), 2u);
  const CgroupDef& leaf = s.backdrop[0];
  EXPECT_EQ(leaf.workers.kind, WorkerCount::Kind::kCpus);
  EXPECT_EQ(leaf.workers.mul, 2u);
  EXPECT_EQ(leaf.workers.div, 3u);
  EXPECT_EQ(leaf.work.type, WorkType::kIoSync);
  EXPECT_EQ(leaf.work.io_bytes, 4096u);
  EXPECT_EQ(leaf.work.sleep_us, 50u);
  EXPECT_EQ(leaf.work.spin_iters, workload::default_spec(WorkType::kIoSync).spin_iters);
  ASSERT_TRUE(leaf.cpuset.has_value());
  EXPECT_EQ(leaf.cpuset->kind, topo::CpusetSpec::Kind::kOverlap);
  EXPECT_EQ(leaf.cpuset->pct, 25u);
  EXPECT_EQ(leaf.affinity.size, 2u);
  EXPECT_EQ(leaf.policy, (SchedPolicy{SchedPolicy::Kind::kRr, 7}));
  EXPECT_EQ(leaf.nice, -20);
  EXPECT_EQ(leaf.mempolicy.kind, MemPolicy::Kind::kInterleave);

  const CgroupDef& parent = s.backdrop[1];
  EXPECT_EQ(parent.workers, WorkerCount::fixed(0));  // parents run no workers
  ASSERT_EQ(parent.children.size(), 3u);
  EXPECT_EQ(parent.children[0].name, "parent/x");
  EXPECT_EQ(parent.children[0].leaf_name(), "x");
  EXPECT_EQ(parent.children[0].nice, 19);
  EXPECT_EQ(parent.children[0].policy.kind, SchedPolicy::Kind::kIdle);
  EXPECT_EQ(parent.children[1].workers, WorkerCount::fixed(0));
  ASSERT_EQ(parent.children[2].children.size(), 1u);
  const CgroupDef& deep = parent.children[2].children[0];
  EXPECT_EQ(deep.name, "parent/z/deep");
  EXPECT_EQ(deep.workers.kind, WorkerCount::Kind::kLlcs);
  EXPECT_EQ(deep.affinity.cpus, (topo::CpuSet{0, 1, 3}));
}

TEST(Parser, WorkSpecForms) {
  Scenario s = parse_ok(R"(
name = "w"
category = "stress"
description = "work forms"
[[backdrop]]
name = "a"
workers = 1
work = "futex-fan-out"
[[backdrop]]
name = "b"
workers = 1
work = { type = "sequence", phases = [ { kind = "spin", ms = 5 }, { kind = "io", ms = 7 } ] }
[[backdrop]]
name = "c"
workers = 1
work = { type = "cache-pressure", buffer_kib = 64, stride = 128 }
[[backdrop]]
name = "d"
workers = 2
work = { type = "fan-out-compute", fan_out = 2, ops = 9, buffer_kib = 16 }
[[backdrop]]
name = "e"
workers = 2
work = { type = "mutex-contention", contenders = 2, spin_iters = 0 }
[[backdrop]]
name = "f"
workers = 2
work = { type = "bursty", burst_ms = 5, sleep_ms = 0 }
[[backdrop]]
name = "g"
workers = 2
work = { type = "pipe-io", iters = 16 }
[[backdrop]]
name = "h"
workers = 2
work = { type = "page-fault-churn", region_kib = 8 }
)");
  ASSERT_EQ(s.backdrop.size(), 8u);
  EXPECT_TRUE(same_work(s.backdrop[0].work, workload::default_spec(WorkType::kFutexFanOut)));
  const auto& seq = s.backdrop[1].work;
  ASSERT_EQ(seq.phases.size(), 2u);
  EXPECT_EQ(seq.phases[1].kind, workload::Phase::Kind::kIo);
  EXPECT_EQ(seq.phases[1].duration_ms, 7u);
  EXPECT_EQ(s.backdrop[2].work.stride, 128u);
  EXPECT_EQ(s.backdrop[3].work.ops, 9u);
  EXPECT_EQ(s.backdrop[3].work.fan_out, 2u);
  EXPECT_EQ(s.backdrop[4].work.contenders, 2u);
  EXPECT_EQ(s.backdrop[4].work.spin_iters, 0u);
  EXPECT_EQ(s.backdrop[5].work.sleep_ms, 0u);
  EXPECT_EQ(s.backdrop[6].work.iters, 16u);
  EXPECT_EQ(s.backdrop[7].work.region_kib, 8u);
}

TEST(Parser, HoldKinds) {
  Scenario s = parse_ok(R"(
name = "h"
category = "dynamic"
description = "holds"
[[backdrop]]
name = "a"
workers = 1
[[step]]
hold = 0.25
[[step]]
hold = { fraction = 0.25 }
[[step]]
hold = { duration_ms = 300 }
[[step]]
hold = { fraction = 0.5, every_ms = 100 }
ops = [ { op = "set-affinity", cgroup = "a", affinity = "single-cpu" } ]
[[step]]
hold = { duration_ms = 200, every_ms = 50 }
)");
  ASSERT_EQ(s.steps.size(), 5u);
  EXPECT_EQ(s.steps[0].hold, Hold::of_fraction(0.25));
  EXPECT_EQ(s.steps[1].hold, Hold::of_fraction(0.25));
  EXPECT_EQ(s.steps[2].hold, Hold::of_duration_ms(300));
  EXPECT_EQ(s.steps[3].hold, Hold::loop(100, 0.5));
  EXPECT_EQ(s.steps[4].hold.kind, Hold::Kind::kLoop);
  EXPECT_EQ(s.steps[4].hold.duration_ms, 200u);
  EXPECT_EQ(s.steps[4].hold.interval_ms, 50u);
  EXPECT_TRUE(s.steps[0].ops.empty());
}

TEST(Parser, EveryOp) {
  Scenario s = parse_ok(R"(
name = "ops"
category = "dynamic"
description = "every op"
[requires]
min_cpus = 2
[[backdrop]]
name = "a"
workers = 2
[[backdrop]]
name = "b"
workers = 1
[[backdrop]]
name = "p"
children = [ { name = "c", workers = 1 } ]
[[step]]
hold = { fraction = 0.5 }
ops = [
  { op = "add-cgroup", cgroup = { name = "n", workers = 1, cpuset = "disjoint:0/2" } },
  { op = "add-cgroup", cgroup = { name = "p/d", workers = 2 } },
  { op = "set-cpuset", cgroup = "a", cpuset = "exact:0-1" },
  { op = "clear-cpuset", cgroup = "a" },
  { op = "swap-cpusets", a = "a", b = "n" },
  { op = "spawn", cgroup = "b", count = 3 },
  { op = "spawn", cgroup = "b", count = "cpus", work = { type = "mixed", spin_iters = 9 } },
  { op = "stop-cgroup", cgroup = "b" },
  { op = "set-affinity", cgroup = "a", affinity = "llc-aligned" },
  { op = "spawn-host", count = 2, work = "yield-heavy" },
  { op = "move-all-tasks", from = "p/c", to = "p/d" },
  { op = "run-payload", name = "bench", argv = ["/bin/true", "x y"] },
  { op = "run-payload", name = "bench2", argv = ["/bin/sleep", "1"], cgroup = "n" },
  { op = "snapshot", name = "mid" },
  { op = "freeze-worker", cgroup = "a", worker = 1, duration_ms = 1500 },
]
[[step]]
hold = { fraction = 0.5 }
ops = [
  { op = "wait-payload", name = "bench", timeout_ms = 2000 },
  { op = "kill-payload", name = "bench2" },
  { op = "remove-cgroup", cgroup = "n" },
  { op = "remove-cgroup", cgroup = "p/d" },
]
)");
  ASSERT_EQ(s.steps.size(), 2u);
  const auto& o = s.steps[0].ops;
  ASSERT_EQ(o.size(), 15u);
  auto add = std::get<ops::AddCgroup>(o[0]);
  EXPECT_EQ(add.cgroup.name, "n");
  EXPECT_EQ(add.cgroup.cpuset->to_string(), "disjoint:0/2");
  EXPECT_EQ(std::get<ops::AddCgroup>(o[1]).cgroup.name, "p/d");
  EXPECT_EQ(std::get<ops::SetCpuset>(o[2]).cpuset.cpus, (topo::CpuSet{0, 1}));
  EXPECT_EQ(std::get<ops::ClearCpuset>(o[3]).cgroup, "a");
  EXPECT_EQ(std::get<ops::SwapCpusets>(o[4]).b, "n");
  auto spawn = std::get<ops::Spawn>(o[5]);
  EXPECT_EQ(spawn.count, WorkerCount::fixed(3));
  EXPECT_FALSE(spawn.work.has_value());
  auto spawn2 = std::get<ops::Spawn>(o[6]);
  EXPECT_EQ(spawn2.count.kind, WorkerCount::Kind::kCpus);
  EXPECT_EQ(spawn2.work->spin_iters, 9u);
  EXPECT_EQ(std::get<ops::StopCgroup>(o[7]).cgroup, "b");
  EXPECT_EQ(std::get<ops::SetAffinity>(o[8]).affinity.kind, Affinity::Kind::kLlcAligned);
  auto host = std::get<ops::SpawnHost>(o[9]);
  EXPECT_EQ(host.count, WorkerCount::fixed(2));
  EXPECT_EQ(host.work.type, WorkType::kYieldHeavy);
  EXPECT_EQ(std::get<ops::MoveAllTasks>(o[10]).from, "p/c");
  auto run = std::get<ops::RunPayload>(o[11]);
  EXPECT_EQ(run.argv, (std::vector<std::string>{"/bin/true", "x y"}));
  EXPECT_FALSE(run.cgroup.has_value());
  EXPECT_EQ(std::get<ops::RunPayload>(o[12]).cgroup.value(), "n");
  EXPECT_EQ(std::get<ops::Snapshot>(o[13]).name, "mid");
  auto freeze = std::get<ops::FreezeWorker>(o[14]);
  EXPECT_EQ(freeze.worker, 1u);
  EXPECT_EQ(freeze.duration_ms, 1500u);
  const auto& o2 = s.steps[1].ops;
  EXPECT_EQ(std::get<ops::WaitPayload>(o2[0]).timeout_ms, 2000u);
  EXPECT_EQ(std::get<ops::KillPayload>(o2[1]).name, "bench2");
  EXPECT_EQ(std::get<ops::RemoveCgroup>(o2[3]).cgroup, "p/d");
}

TEST(Parser, ParentBecomesALeafWhenItsLastChildIsRemoved) {
  Scenario s = parse_ok(R"(
name = "leaf_again"
category = "nested"
description = "remove the only child, then use the parent as a leaf"
[[step]]
hold = 0.5
ops = [
  { op = "add-cgroup", cgroup = { name = "p", workers = 0 } },
  { op = "add-cgroup", cgroup = { name = "p/c", workers = 1 } },
]
[[step]]
hold = 0.5
ops = [
  { op = "remove-cgroup", cgroup = "p/c" },
  { op = "spawn", cgroup = "p", count = 1 },
]
)");
  EXPECT_EQ(s.steps.size(), 2u);
}

TEST(Parser, OpsAsArrayOfTables) {
  Scenario s = parse_ok(R"(
name = "aot"
category = "dynamic"
description = "ops written as [[step.ops]]"
[[backdrop]]
name = "a"
workers = 1
[[step]]
hold = 1.0
[[step.ops]]
op = "spawn"
cgroup = "a"
count = 2
)");
  ASSERT_EQ(s.steps[0].ops.size(), 1u);
  EXPECT_EQ(std::get<ops::Spawn>(s.steps[0].ops[0]).count, WorkerCount::fixed(2));
}

TEST(Parser, SeveralScenariosPerFile) {
  auto r = parse_scenarios_text(R"(
[[scenario]]
name = "one"
category = "basic"
description = "first"
[[scenario.backdrop]]
name = "a"
workers = 1

[[scenario]]
name = "two"
category = "stress"
description = "second"
duration_s = 3
[[scenario.backdrop]]
name = "a"
workers = 2
)",
                                "multi.toml");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[1].name, "two");
  EXPECT_EQ((*r)[1].duration_ms, 3000u);
  auto one = parse_scenario_text("[[scenario]]\nname = \"x\"\n", "m.toml");
  ASSERT_FALSE(one.ok());
  auto single = parse_scenarios_text(R"(
[[scenario]]
name = "a"
category = "basic"
description = "d"
[[scenario.backdrop]]
name = "a"
workers = 1
[[scenario]]
name = "b"
category = "basic"
description = "d"
[[scenario.backdrop]]
name = "a"
workers = 1
)",
                                     "m.toml");
  ASSERT_TRUE(single.ok());
  auto pick = parse_scenario_text(R"(
[[scenario]]
name = "a"
category = "basic"
description = "d"
[[scenario.backdrop]]
name = "a"
workers = 1
[[scenario]]
name = "b"
category = "basic"
description = "d"
[[scenario.backdrop]]
name = "a"
workers = 1
)",
                                  "m.toml");
  ASSERT_FALSE(pick.ok());
  EXPECT_NE(pick.error().message().find("holds 2 scenarios (a, b)"), std::string::npos);
}

TEST(Parser, ReadsFiles) {
  auto dir = TempDir::create("ktstr-scenario-test").value();
  auto path = dir.path() / "f.toml";
  ASSERT_TRUE(write_file(path, "name = \"f\"\ncategory = \"basic\"\ndescription = \"file\"\n"
                               "[[backdrop]]\nname = \"a\"\nworkers = 1\n")
                  .ok());
  auto s = parse_scenario_file(path);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->name, "f");
  auto missing = parse_scenario_file(dir.path() / "nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("nope.toml"), std::string::npos);
  ASSERT_TRUE(write_file(path, "name = \"f\"\nbogus = 1\n").ok());
  auto bad = parse_scenario_file(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message().rfind(path.string() + ":", 0), 0u) << bad.error().message();
}

}  // namespace
}  // namespace ktstr::scenario
