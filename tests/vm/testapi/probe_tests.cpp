// Tests that must not pass: each proves the API reports a problem the way
// it should (a check failure, a bad value, an unmet requirement, a body that
// throws). Driven by testapi_vm_test, never registered with ctest itself.
#include <stdexcept>

#include "testapi/ktstr_test.h"

// Worker 1 of cg_1 is stopped for 3 s. Under TCG the gap limit is scaled
// (x4 on 4 vCPUs): 700 ms becomes 2.8 s, below the stall and far above
// TCG's natural gaps.
KTSTR_TEST(frozen_worker, {.topology = "1n2l2c1t",
                           .duration_s = 6,
                           .description = "A worker frozen for 3 s is caught by the gap check",
                           .thresholds = {{"max_gap_ms", 700}}}) {
  return ktstr::run(ctx, ktstr::Scenario({ktstr::CgroupDef("cg_1").workers(2)})
                             .step(0.2)
                             .step(0.8, {ktstr::op::freeze_worker("cg_1", 1, 3000)}));
}

KTSTR_TEST(bad_cpuset, {.description = "A cpuset naming an LLC the topology lacks fails"}) {
  return ktstr::run(ctx, {ktstr::CgroupDef("a").workers(1).cpuset("llc:9")});
}

KTSTR_TEST(bad_policy, {.description = "An unknown policy string fails naming the field"}) {
  return ktstr::run(ctx, {ktstr::CgroupDef("a").workers(1).policy("fifo:100")});
}

KTSTR_TEST(needs_numa, {.description = "A test needing two NUMA nodes skips on one"}) {
  return ktstr::run(ctx,
                    ktstr::Scenario({ktstr::CgroupDef("a").workers(1)}).requires_numa_nodes(2));
}

KTSTR_TEST(throws, {.description = "A body that throws fails with the exception's text"}) {
  throw std::runtime_error("probe exception");
}
