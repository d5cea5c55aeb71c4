#include "scenario/model.h"

#include <gtest/gtest.h>

#include "scenario/toml_parser.h"

namespace ktstr::scenario {
namespace {

topo::Topology topo_of(const char* spec) { return topo::Topology::parse(spec).value(); }

Scenario parse_ok(std::string_view text) {
  auto r = parse_scenario_text(text, "t.toml");
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? r.value() : Scenario{};
}

constexpr std::string_view kOverridable = R"(
name = "o"
category = "dynamic"
description = "override target"
duration_s = 4
[[backdrop]]
name = "parent"
children = [ { name = "a", workers = 2 }, { name = "empty", workers = 0 } ]
[[backdrop]]
name = "flat"
workers = "cpus"
work = { type = "mixed", spin_iters = 7 }
[[step]]
hold = 0.5
ops = [
  { op = "add-cgroup", cgroup = { name = "late", workers = 1, work = "bursty" } },
  { op = "spawn", cgroup = "flat", count = 3, work = "yield-heavy" },
  { op = "spawn", cgroup = "late", count = 1 },
  { op = "spawn-host", count = 2, work = "io-sync" },
]
)";

TEST(Overrides, WorkersSetsEveryCgroupThatRunsWorkers) {
  Scenario s = parse_ok(kOverridable);
  Scenario o = s.with_workers(5).value();
  EXPECT_EQ(o.backdrop[0].workers, WorkerCount::fixed(0));  // parent: no tasks
  EXPECT_EQ(o.backdrop[0].children[0].workers, WorkerCount::fixed(5));
  EXPECT_EQ(o.backdrop[0].children[1].workers, WorkerCount::fixed(0));  // deliberately empty
  EXPECT_EQ(o.backdrop[1].workers, WorkerCount::fixed(5));
  EXPECT_EQ(std::get<ops::AddCgroup>(o.steps[0].ops[0]).cgroup.workers, WorkerCount::fixed(5));
  EXPECT_EQ(std::get<ops::Spawn>(o.steps[0].ops[1]).count, WorkerCount::fixed(3));
  EXPECT_EQ(std::get<ops::SpawnHost>(o.steps[0].ops[3]).count, WorkerCount::fixed(2));
  EXPECT_EQ(s.backdrop[1].workers.kind, WorkerCount::Kind::kCpus);  // the original is untouched
  EXPECT_FALSE(s.with_workers(0).ok());
  EXPECT_FALSE(s.with_workers(100000).ok());
}

TEST(Overrides, WorkTypeReplacesCgroupAndSpawnWork) {
  Scenario s = parse_ok(kOverridable);
  Scenario o = s.with_work_type(workload::WorkType::kPipeIo);
  auto pipe = workload::default_spec(workload::WorkType::kPipeIo);
  EXPECT_TRUE(same_work(o.backdrop[0].children[0].work, pipe));
  EXPECT_TRUE(same_work(o.backdrop[1].work, pipe));  // parameters reset to the type's defaults
  EXPECT_TRUE(same_work(std::get<ops::AddCgroup>(o.steps[0].ops[0]).cgroup.work, pipe));
  EXPECT_TRUE(same_work(*std::get<ops::Spawn>(o.steps[0].ops[1]).work, pipe));
  EXPECT_FALSE(std::get<ops::Spawn>(o.steps[0].ops[2]).work.has_value());  // still inherits
  EXPECT_EQ(std::get<ops::SpawnHost>(o.steps[0].ops[3]).work.type, workload::WorkType::kIoSync);
}

TEST(Overrides, DurationInSeconds) {
  Scenario s = parse_ok(kOverridable);
  EXPECT_EQ(s.duration_ms, 4000u);
  EXPECT_EQ(s.with_duration_s(2.5)->duration_ms, 2500u);
  EXPECT_EQ(s.with_duration_s(10)->duration_ms, 10000u);
  EXPECT_FALSE(s.with_duration_s(0).ok());
  EXPECT_FALSE(s.with_duration_s(-1).ok());
  EXPECT_FALSE(s.with_duration_s(1e9).ok());
}

TEST(Hold, ResolvesAgainstTheScenarioDuration) {
  EXPECT_EQ(Hold::of_fraction(0.25).resolve_ms(4000), 1000u);
  EXPECT_EQ(Hold::of_duration_ms(700).resolve_ms(4000), 700u);
  EXPECT_EQ(Hold::loop(100, 0.5).resolve_ms(4000), 2000u);
  Hold fixed_loop = Hold::loop(100, 1.0);
  fixed_loop.duration_ms = 300;
  EXPECT_EQ(fixed_loop.resolve_ms(4000), 300u);
}

TEST(Category, NamesRoundTrip) {
  EXPECT_EQ(all_categories().size(), 8u);
  for (auto c : all_categories()) EXPECT_EQ(parse_category(to_string(c)).value(), c);
  auto bad = parse_category("fun");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("basic, cpuset"), std::string::npos);
}

TEST(Requirements, ExplainWhatIsMissing) {
  auto small = topo_of("1n2l2c1t");
  EXPECT_EQ(Requirements{}.unmet_by(small), std::nullopt);
  Requirements cpus{8, 0, 0, false};
  EXPECT_EQ(cpus.unmet_by(small).value(), "needs 8 CPUs; topology 1n2l2c1t has 4");
  EXPECT_NE(Requirements({0, 4, 0, false}).unmet_by(small)->find("4 LLCs"), std::string::npos);
  EXPECT_NE(Requirements({0, 0, 2, false}).unmet_by(small)->find("2 NUMA nodes"),
            std::string::npos);
  EXPECT_NE(Requirements({0, 0, 0, true}).unmet_by(small)->find("SMT"), std::string::npos);
  EXPECT_EQ(Requirements({4, 2, 1, true}).unmet_by(topo_of("1n2l1c2t")), std::nullopt);
}

TEST(Thresholds, KnownKeys) {
  EXPECT_EQ(known_threshold_keys().size(), 18u);
  for (auto k : {"starvation", "max_spread_pct", "max_gap_ms", "isolation", "max_throughput_cv",
                 "min_work_rate", "max_p99_wake_latency_us", "max_wake_latency_cv",
                 "min_iteration_rate", "max_migration_ratio", "min_numa_locality"})
    EXPECT_TRUE(is_known_threshold(k)) << k;
  EXPECT_FALSE(is_known_threshold("max_gap"));
}

TEST(Names, AllowedCharacters) {
  EXPECT_TRUE(check_name("cg_0.a-b", "cgroup name").ok());
  for (const char* bad : {"", ".", "..", "a b", "a/b", "é", "x:y"}) {
    auto r = check_name(bad, "cgroup name");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message().rfind("cgroup name", 0), 0u) << r.error().message();
  }
  EXPECT_FALSE(check_name(std::string(65, 'a'), "name").ok());
}

TEST(Equality, ComparesEveryField) {
  Scenario a = parse_ok(kOverridable);
  Scenario b = a;
  EXPECT_EQ(a, b);
  b.backdrop[1].work.spin_iters = 8;
  EXPECT_NE(a, b);
  b = a;
  b.backdrop[0].children[0].name = "parent/z";
  EXPECT_NE(a, b);
  b = a;
  b.thresholds["max_gap_ms"] = 1;
  EXPECT_NE(a, b);
  b = a;
  std::get<ops::Spawn>(b.steps[0].ops[2]).work = workload::default_spec(workload::WorkType::kCpuSpin);
  EXPECT_NE(a, b);
  b = a;
  b.steps[0].hold.fraction = 0.4;
  EXPECT_NE(a, b);
}

TEST(CheckTopology, ResolvesEverySpecAgainstTheTopology) {
  Scenario s = parse_ok(R"(
name = "t"
category = "cpuset"
description = "d"
[requires]
min_llcs = 3
min_numa_nodes = 2
min_cpus = 9
[[backdrop]]
name = "a"
workers = 1
cpuset = "llc:2"
mempolicy = "bind:1"
affinity = "exact:8"
[[step]]
hold = 1.0
ops = [ { op = "set-cpuset", cgroup = "a", cpuset = "numa:1" } ]
)");
  EXPECT_TRUE(check_topology(s, topo_of("2n4l2c2t")).ok());
  auto r = check_topology(s, topo_of("1n2l2c1t"));
  ASSERT_FALSE(r.ok());
  const std::string m = r.error().message();
  EXPECT_NE(m.find("backdrop[0].cpuset: cpuset 'llc:2': llc 2 does not exist"), std::string::npos)
      << m;
  EXPECT_NE(m.find("backdrop[0].mempolicy:"), std::string::npos) << m;
  EXPECT_NE(m.find("backdrop[0].affinity:"), std::string::npos) << m;
  EXPECT_NE(m.find("step[0].ops[0].cpuset:"), std::string::npos) << m;
}

TEST(OpNames, MatchVariantOrder) {
  ASSERT_EQ(op_names().size(), std::variant_size_v<Op>);
  EXPECT_EQ(op_name(Op{ops::AddCgroup{}}), "add-cgroup");
  EXPECT_EQ(op_name(Op{ops::FreezeWorker{}}), "freeze-worker");
  EXPECT_EQ(op_name(Op{ops::MoveAllTasks{}}), "move-all-tasks");
}

}  // namespace
}  // namespace ktstr::scenario
