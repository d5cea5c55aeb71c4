#include "testapi/builders.h"

#include <gtest/gtest.h>

namespace ktstr {
namespace {

using scenario::WorkerCount;

TEST(CgroupDefBuilder, BuildsTheModelCgroup) {
  auto def = CgroupDef("a")
                 .workers(3)
                 .work(WorkType::kMixed)
                 .cpuset("llc:1")
                 .affinity("single-cpu")
                 .policy("batch")
                 .nice(5)
                 .mempolicy("bind:0")
                 .build();
  ASSERT_TRUE(def.ok()) << def.error().message();
  EXPECT_EQ(def->name, "a");
  EXPECT_EQ(def->workers, WorkerCount::fixed(3));
  EXPECT_TRUE(scenario::same_work(def->work, workload::default_spec(WorkType::kMixed)));
  ASSERT_TRUE(def->cpuset.has_value());
  EXPECT_EQ(def->cpuset->to_string(), "llc:1");
  EXPECT_EQ(def->affinity.kind, scenario::Affinity::Kind::kSingleCpu);
  EXPECT_EQ(def->policy.kind, scenario::SchedPolicy::Kind::kBatch);
  EXPECT_EQ(def->nice, 5);
  EXPECT_EQ(def->mempolicy.kind, scenario::MemPolicy::Kind::kBind);
  EXPECT_TRUE(def->children.empty());
}

TEST(CgroupDefBuilder, DefaultsMatchTheModel) {
  auto def = CgroupDef("plain").build();
  ASSERT_TRUE(def.ok());
  scenario::CgroupDef expected;
  expected.name = "plain";
  EXPECT_EQ(*def, expected);
}

TEST(CgroupDefBuilder, ScaledWorkersAndWorkSpec) {
  WorkSpec spec = workload::default_spec(WorkType::kBursty);
  spec.burst_ms = 20;
  auto def = CgroupDef("s").workers("2*cpus").work(spec).build();
  ASSERT_TRUE(def.ok()) << def.error().message();
  EXPECT_EQ(def->workers.kind, WorkerCount::Kind::kCpus);
  EXPECT_EQ(def->workers.mul, 2u);
  EXPECT_EQ(def->work.type, WorkType::kBursty);
  EXPECT_EQ(def->work.burst_ms, 20u);
}

TEST(CgroupDefBuilder, ChildrenGetPathNamesAndTheParentNoWorkers) {
  auto def = CgroupDef("p")
                 .child(CgroupDef("x").workers(1))
                 .child(CgroupDef("y").child(CgroupDef("z").workers(2)))
                 .build();
  ASSERT_TRUE(def.ok()) << def.error().message();
  EXPECT_EQ(def->workers, WorkerCount::fixed(0));
  ASSERT_EQ(def->children.size(), 2u);
  EXPECT_EQ(def->children[0].name, "p/x");
  EXPECT_EQ(def->children[0].workers, WorkerCount::fixed(1));
  EXPECT_EQ(def->children[1].name, "p/y");
  EXPECT_EQ(def->children[1].workers, WorkerCount::fixed(0));
  ASSERT_EQ(def->children[1].children.size(), 1u);
  EXPECT_EQ(def->children[1].children[0].name, "p/y/z");
}

TEST(CgroupDefBuilder, BadValuesNameTheCgroupAndField) {
  auto expect_bad = [](const CgroupDef& c, std::string_view needle) {
    auto def = c.build();
    ASSERT_FALSE(def.ok()) << needle;
    EXPECT_NE(def.error().message().find(needle), std::string::npos) << def.error().message();
  };
  expect_bad(CgroupDef("a").cpuset("llc:x"), "cgroup 'a': cpuset:");
  expect_bad(CgroupDef("a").affinity("sometimes"), "cgroup 'a': affinity:");
  expect_bad(CgroupDef("a").policy("fifo:0"), "cgroup 'a': policy:");
  expect_bad(CgroupDef("a").nice(20), "cgroup 'a': nice: 20 is out of range");
  expect_bad(CgroupDef("a").workers("3*threads"), "cgroup 'a': workers:");
  expect_bad(CgroupDef("a").mempolicy("bind:"), "cgroup 'a': mempolicy:");
  WorkSpec zero = workload::default_spec(WorkType::kCachePressure);
  zero.stride = 0;
  expect_bad(CgroupDef("a").work(zero), "cgroup 'a': work:");
  // A child's error surfaces through its parent; the first error wins.
  expect_bad(CgroupDef("p").child(CgroupDef("c").policy("bogus")), "cgroup 'c': policy:");
  expect_bad(CgroupDef("a").cpuset("bad").policy("bogus"), "cgroup 'a': cpuset:");
}

TEST(ScenarioBuilder, BuildsBackdropStepsAndRequirements) {
  auto s = Scenario({CgroupDef("a").workers(2)})
               .backdrop(CgroupDef("b"))
               .step(0.25)
               .step_ms(500, {op::set_cpuset("a", "llc:0"), op::spawn("b", 2)})
               .loop(100, 0.5, {op::swap_cpusets("a", "b")})
               .requires_llcs(2)
               .requires_smt()
               .build("t", "a test", 3000);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->name, "t");
  EXPECT_EQ(s->description, "a test");
  EXPECT_EQ(s->duration_ms, 3000u);
  ASSERT_EQ(s->backdrop.size(), 2u);
  EXPECT_EQ(s->backdrop[1].name, "b");
  ASSERT_EQ(s->steps.size(), 3u);
  EXPECT_EQ(s->steps[0].hold, scenario::Hold::of_fraction(0.25));
  EXPECT_TRUE(s->steps[0].ops.empty());
  EXPECT_EQ(s->steps[1].hold, scenario::Hold::of_duration_ms(500));
  ASSERT_EQ(s->steps[1].ops.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<scenario::ops::SetCpuset>(s->steps[1].ops[0]));
  auto& spawn = std::get<scenario::ops::Spawn>(s->steps[1].ops[1]);
  EXPECT_EQ(spawn.cgroup, "b");
  EXPECT_EQ(spawn.count, WorkerCount::fixed(2));
  EXPECT_FALSE(spawn.work.has_value());
  EXPECT_EQ(s->steps[2].hold, scenario::Hold::loop(100, 0.5));
  EXPECT_EQ(s->requirements.min_llcs, 2u);
  EXPECT_TRUE(s->requirements.smt);
}

TEST(ScenarioBuilder, DurationOverride) {
  auto s = Scenario({CgroupDef("a")}).duration_ms(1500).build("t", "d", 3000);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->duration_ms, 1500u);
}

TEST(ScenarioBuilder, ErrorsNameTheStepAndOp) {
  auto s = Scenario({CgroupDef("a")})
               .step(0.5)
               .step(0.5, {op::stop_cgroup("a"), op::set_affinity("a", "nowhere")})
               .build("t", "d", 1000);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("step[1].ops[1]: set-affinity 'a': affinity:"),
            std::string::npos)
      << s.error().message();

  auto b = Scenario({CgroupDef("a"), CgroupDef("b").cpuset("numa:")}).build("t", "d", 1000);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message().find("backdrop[1]: cgroup 'b': cpuset:"), std::string::npos)
      << b.error().message();

  auto added =
      Scenario().step(1.0, {op::add_cgroup(CgroupDef("n").nice(-21))}).build("t", "d", 1000);
  ASSERT_FALSE(added.ok());
  EXPECT_NE(added.error().message().find("add-cgroup: cgroup 'n': nice:"), std::string::npos)
      << added.error().message();
}

TEST(OpFactories, ProduceModelOps) {
  auto check = [](const Op& o) {
    auto built = o.build();
    EXPECT_TRUE(built.ok()) << built.error().message();
    return built.ok() ? *built : scenario::Op{};
  };
  EXPECT_EQ(std::get<scenario::ops::AddCgroup>(check(op::add_cgroup(CgroupDef("n").workers(2))))
                .cgroup.name,
            "n");
  EXPECT_EQ(std::get<scenario::ops::RemoveCgroup>(check(op::remove_cgroup("n"))).cgroup, "n");
  EXPECT_EQ(std::get<scenario::ops::ClearCpuset>(check(op::clear_cpuset("n"))).cgroup, "n");
  EXPECT_EQ(std::get<scenario::ops::MoveAllTasks>(check(op::move_all_tasks("a", "b"))).to, "b");
  auto host = std::get<scenario::ops::SpawnHost>(check(op::spawn_host(3)));
  EXPECT_EQ(host.count, WorkerCount::fixed(3));
  EXPECT_EQ(host.work.type, WorkType::kCpuSpin);
  auto spawn = std::get<scenario::ops::Spawn>(
      check(op::spawn("c", 1, workload::default_spec(WorkType::kIoSync))));
  ASSERT_TRUE(spawn.work.has_value());
  EXPECT_EQ(spawn.work->type, WorkType::kIoSync);
  auto freeze = std::get<scenario::ops::FreezeWorker>(check(op::freeze_worker("c", 1, 3000)));
  EXPECT_EQ(freeze.duration_ms, 3000u);
  // Any model op converts.
  EXPECT_EQ(std::get<scenario::ops::Snapshot>(check(scenario::ops::Snapshot{"s"})).name, "s");
  EXPECT_FALSE(op::set_cpuset("a", "llc:").build().ok());
}

}  // namespace
}  // namespace ktstr
