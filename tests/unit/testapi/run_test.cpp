// ktstr::run's paths that end before the engine starts (the engine itself
// needs a VM; tests/vm/testapi runs it for real).
#include <gtest/gtest.h>

#include "testapi/context.h"

namespace ktstr {
namespace {

Context make_ctx(const char* topology = "1n2l2c1t") {
  TestOptions o;
  o.topology = topology;
  o.description = "unit";
  return Context("unit_test", o, topo::Topology::parse(topology).value());
}

void expect_failure(const TestResult& r, std::string_view needle) {
  ASSERT_EQ(r.run.errors.size(), 1u);
  EXPECT_NE(r.run.errors[0].find(needle), std::string::npos) << r.run.errors[0];
  EXPECT_FALSE(r.run.skipped);
  EXPECT_EQ(r.run.scenario, "unit_test");
  EXPECT_TRUE(r.run.reports.empty());
}

TEST(Run, BadBuilderValueFailsWithItsMessage) {
  auto ctx = make_ctx();
  expect_failure(run(ctx, {CgroupDef("a").cpuset("llc")}), "backdrop[0]: cgroup 'a': cpuset:");
}

TEST(Run, CpusetOutsideTheTopologyFails) {
  auto ctx = make_ctx();
  expect_failure(run(ctx, {CgroupDef("a").cpuset("llc:2")}), "llc 2 does not exist");
}

TEST(Run, UnmetRequirementsSkip) {
  auto ctx = make_ctx();
  auto r = run(ctx, Scenario({CgroupDef("a")}).requires_cpus(8));
  EXPECT_TRUE(r.run.skipped);
  EXPECT_EQ(r.run.skip_reason, "needs 8 CPUs; topology 1n2l2c1t has 4");
  EXPECT_TRUE(r.run.errors.empty());
}

TEST(Run, ModelErrorsNameTheFieldWithoutGeneratedPositions) {
  auto ctx = make_ctx();
  auto r = run(ctx, Scenario({CgroupDef("a")}).step(1.0, {op::stop_cgroup("missing")}));
  ASSERT_EQ(r.run.errors.size(), 1u);
  const auto& msg = r.run.errors[0];
  EXPECT_NE(msg.find("step[0].ops[0]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("test unit_test:"), std::string::npos) << msg;
}

TEST(Run, DuplicateCgroupNamesFail) {
  auto ctx = make_ctx();
  auto r = run(ctx, {CgroupDef("a"), CgroupDef("a")});
  ASSERT_EQ(r.run.errors.size(), 1u);
  EXPECT_NE(r.run.errors[0].find("'a' already exists"), std::string::npos) << r.run.errors[0];
}

TEST(Run, SkipAndFailHelpers) {
  auto ctx = make_ctx();
  auto s = skip(ctx, "why");
  EXPECT_TRUE(s.run.skipped);
  EXPECT_EQ(s.run.skip_reason, "why");
  auto f = fail(ctx, "what");
  EXPECT_EQ(f.run.errors, std::vector<std::string>{"what"});
  EXPECT_EQ(f.run.scenario, "unit_test");
}

}  // namespace
}  // namespace ktstr
