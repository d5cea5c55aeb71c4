#include "scenario/values.h"

#include <gtest/gtest.h>

namespace ktstr::scenario {
namespace {

topo::Topology topo_of(const char* spec) { return topo::Topology::parse(spec).value(); }

TEST(WorkerCount, ParsesFixedAndScaledForms) {
  EXPECT_EQ(WorkerCount::parse("4").value(), WorkerCount::fixed(4));
  EXPECT_EQ(WorkerCount::parse("0").value(), WorkerCount::fixed(0));
  auto cpus = WorkerCount::parse("cpus").value();
  EXPECT_EQ(cpus.kind, WorkerCount::Kind::kCpus);
  EXPECT_EQ(cpus.mul, 1u);
  EXPECT_EQ(cpus.div, 1u);
  auto scaled = WorkerCount::parse(" 3*llcs/2 ").value();
  EXPECT_EQ(scaled.kind, WorkerCount::Kind::kLlcs);
  EXPECT_EQ(scaled.mul, 3u);
  EXPECT_EQ(scaled.div, 2u);
}

TEST(WorkerCount, ToStringParsesBack) {
  for (const char* text : {"4", "0", "cpus", "2*cpus", "cpus/2", "llcs", "3*llcs/2"}) {
    auto c = WorkerCount::parse(text).value();
    EXPECT_EQ(c.to_string(), text);
    EXPECT_EQ(WorkerCount::parse(c.to_string()).value(), c);
  }
}

TEST(WorkerCount, RejectsBadForms) {
  for (const char* text : {"", "cores", "0*cpus", "cpus/0", "-1", "2*", "cpus/x", "99999"}) {
    auto r = WorkerCount::parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message().find("use"), std::string::npos) << r.error().message();
  }
}

TEST(WorkerCount, ResolvesAgainstAllowedCpus) {
  auto t = topo_of("1n2l2c1t");  // 4 CPUs, 2 LLCs
  auto all = t.all_cpus();
  EXPECT_EQ(WorkerCount::fixed(3).resolve(t, all), 3u);
  EXPECT_EQ(WorkerCount::parse("cpus").value().resolve(t, all), 4u);
  EXPECT_EQ(WorkerCount::parse("2*cpus").value().resolve(t, all), 8u);
  EXPECT_EQ(WorkerCount::parse("cpus/2").value().resolve(t, all), 2u);
  EXPECT_EQ(WorkerCount::parse("llcs").value().resolve(t, all), 2u);
  // Only the LLCs holding allowed CPUs count; scaled counts are at least 1.
  EXPECT_EQ(WorkerCount::parse("llcs").value().resolve(t, t.llc_cpus(1)), 1u);
  EXPECT_EQ(WorkerCount::parse("cpus/8").value().resolve(t, all), 1u);
  EXPECT_EQ(WorkerCount::parse("cpus").value().resolve(t, topo::CpuSet{0}), 1u);
}

TEST(Affinity, ParsesEveryMode) {
  EXPECT_EQ(Affinity::parse("inherit")->kind, Affinity::Kind::kInherit);
  EXPECT_EQ(Affinity::parse("random-subset")->size, 0u);
  auto sub = Affinity::parse("random-subset:2").value();
  EXPECT_EQ(sub.kind, Affinity::Kind::kRandomSubset);
  EXPECT_EQ(sub.size, 2u);
  EXPECT_EQ(Affinity::parse("llc-aligned")->kind, Affinity::Kind::kLlcAligned);
  EXPECT_EQ(Affinity::parse("cross-cgroup")->kind, Affinity::Kind::kCrossCgroup);
  EXPECT_EQ(Affinity::parse("single-cpu")->kind, Affinity::Kind::kSingleCpu);
  auto exact = Affinity::parse("exact:0-1,4").value();
  EXPECT_EQ(exact.kind, Affinity::Kind::kExact);
  EXPECT_EQ(exact.cpus, (topo::CpuSet{0, 1, 4}));
  for (const char* text : {"inherit", "random-subset", "random-subset:3", "llc-aligned",
                           "cross-cgroup", "single-cpu", "exact:0-1,4"})
    EXPECT_EQ(Affinity::parse(text)->to_string(), text);
}

TEST(Affinity, RejectsBadModes) {
  for (const char* text : {"pinned", "random-subset:0", "random-subset:x", "exact:", "exact:z",
                           "inherit:1", "single-cpu:2"}) {
    auto r = Affinity::parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.error().message().find(text), std::string::npos) << r.error().message();
  }
}

}  // namespace
}  // namespace ktstr::scenario
