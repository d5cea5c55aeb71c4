// Two scheduler tests written in C++. Build: the `scheduler_tests` target;
// run: `scheduler_tests` (every test), `scheduler_tests --run steady_pair`,
// or through ctest (`ctest -R ktstr.scheduler_tests`).
#include "testapi/ktstr_test.h"

// Two cgroups, one spinning and one mixing spins with yields, on all CPUs:
// neither may starve, and the workers of each must get similar CPU time.
KTSTR_TEST(steady_pair, {.topology = "1n2l2c1t", .duration_s = 3,
                         .description = "Two cgroups, spinning and mixed, share the CPUs fairly"}) {
  return ktstr::run(ctx, {ktstr::CgroupDef("a").workers(2),
                          ktstr::CgroupDef("b").workers(2).work(ktstr::WorkType::kMixed)});
}

// The host freezes the VM twice and captures the scheduler's state; the
// asserts are judged on the host: guest time only moves forward between the
// snapshots, and CPU 1, where two workers are pinned, is busy in both.
KTSTR_TEST(snapshot_pair,
           {.topology = "1n2l2c1t", .duration_s = 3,
            .description = "Two snapshots of the frozen VM: time moves on, the pinned CPU is busy",
            .asserts = {ktstr::expect_series({"first", "second"}, "global.jiffies",
                                             ktstr::scenario::AssertKind::kNonDecreasing),
                        ktstr::expect_snapshot("second", "cpus[1].nr_running",
                                               ktstr::scenario::CompareOp::kGe, 1)}}) {
  return ktstr::run(ctx, ktstr::Scenario({ktstr::CgroupDef("pinned").workers(2).affinity("exact:1")})
                             .step(0.5, {ktstr::op::snapshot("first")})
                             .step(0.5, {ktstr::op::snapshot("second")}));
}

// Each cgroup confined to one LLC; halfway through they trade LLCs. The
// isolation check fails if a worker ever runs outside its cgroup's cpuset.
KTSTR_TEST(cpuset_swap, {.topology = "1n2l2c1t", .duration_s = 4,
                         .description = "Cgroups on one LLC each trade LLCs mid-run and stay inside",
                         .thresholds = {{"isolation", 1}}}) {
  return ktstr::run(ctx, ktstr::Scenario({ktstr::CgroupDef("left").workers(2).cpuset("llc:0"),
                                          ktstr::CgroupDef("right").workers(2).cpuset("llc:1")})
                             .step(0.5)
                             .step(0.5, {ktstr::op::swap_cpusets("left", "right")}));
}
