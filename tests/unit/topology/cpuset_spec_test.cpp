#include "topology/cpuset_spec.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace ktstr::topo {
namespace {

using testing::expect_error;

std::string fmt_spec(std::string_view kind, uint32_t i, uint32_t n) {
  return std::string(kind) + ":" + std::to_string(i) + "/" + std::to_string(n);
}

Topology topo(std::string_view spec) {
  auto t = Topology::parse(spec);
  EXPECT_TRUE(t.ok()) << spec;
  return t.ok() ? *t : Topology{};
}

std::string resolve(std::string_view spec, const Topology& t) {
  auto r = resolve_cpuset_spec(spec, t);
  EXPECT_TRUE(r.ok()) << spec << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? r->to_list() : "<error>";
}

TEST(CpusetSpec, LlcAndNuma) {
  Topology t = topo("2n4l2c2t");
  EXPECT_EQ(resolve("llc:0", t), "0-3");
  EXPECT_EQ(resolve("llc:3", t), "12-15");
  EXPECT_EQ(resolve("numa:0", t), "0-7");
  EXPECT_EQ(resolve("numa:1", t), "8-15");
  EXPECT_EQ(resolve(" llc : 1 ", t), "4-7");
  EXPECT_EQ(expect_error(resolve_cpuset_spec("llc:9", topo("1n2l2c1t")), "llc 9"),
            "cpuset 'llc:9': llc 9 does not exist (topology 1n2l2c1t has llcs 0-1)");
  expect_error(resolve_cpuset_spec("llc:1", topo("1n1l2c1t")),
               "llc 1 does not exist (topology 1n1l2c1t has llcs 0)");
  expect_error(resolve_cpuset_spec("numa:2", t),
               "cpuset 'numa:2': numa node 2 does not exist (topology 2n4l2c2t has nodes 0-1)");
  expect_error(resolve_cpuset_spec("llc:x", t), "cpuset 'llc:x': 'x' is not a valid LLC index");
  expect_error(resolve_cpuset_spec("llc:", t), "is not a valid LLC index");
}

TEST(CpusetSpec, AbsoluteRange) {
  Topology t = topo("1n2l4c1t");
  EXPECT_EQ(resolve("range:0-3", t), "0-3");
  EXPECT_EQ(resolve("range:7", t), "7");
  EXPECT_EQ(resolve("range:0-7", t), "0-7");
  expect_error(resolve_cpuset_spec("range:0-8", t),
               "cpuset 'range:0-8': cpu 8 does not exist (topology 1n2l4c1t has cpus 0-7)");
  expect_error(resolve_cpuset_spec("range:5-2", t), "range end 2 is below start 5");
  expect_error(resolve_cpuset_spec("range:a-2", t), "'a' is not a valid CPU number");
}

TEST(CpusetSpec, FractionRange) {
  Topology t = topo("1n2l4c1t");  // 8 CPUs
  EXPECT_EQ(resolve("range:0.0-0.5", t), "0-3");
  EXPECT_EQ(resolve("range:0.5-1.0", t), "4-7");
  EXPECT_EQ(resolve("range:0.0-1.0", t), "0-7");
  EXPECT_EQ(resolve("range:0-0.25", t), "0-1");  // any '.' makes both bounds fractions
  EXPECT_EQ(resolve("range:.25-.75", t), "2-5");
  // Halves round up: 3 CPUs * 0.5 = 1.5 -> 2.
  Topology three = topo("1n1l3c1t");
  EXPECT_EQ(resolve("range:0.0-0.5", three), "0-1");
  EXPECT_EQ(resolve("range:0.5-1.0", three), "2");
  expect_error(resolve_cpuset_spec("range:0.5-0.5", t), "needs 0 <= start < end <= 1");
  expect_error(resolve_cpuset_spec("range:0.5-1.5", t), "needs 0 <= start < end <= 1");
  expect_error(resolve_cpuset_spec("range:0.5", t), "is not a fraction range");
  expect_error(resolve_cpuset_spec("range:0.1-0.12", t), "selects no CPUs");
}

TEST(CpusetSpec, DisjointAlignsToLlcs) {
  Topology t = topo("1n4l2c2t");  // 16 CPUs, LLCs of 4
  EXPECT_EQ(resolve("disjoint:0/2", t), "0-7");
  EXPECT_EQ(resolve("disjoint:1/2", t), "8-15");
  for (uint32_t i = 0; i < 4; ++i)
    EXPECT_EQ(resolve(fmt_spec("disjoint", i, 4), t), t.llc_cpus(i).to_list());
  EXPECT_EQ(resolve("disjoint:0/1", t), "0-15");
}

TEST(CpusetSpec, DisjointSpreadsRemainder) {
  for (std::string_view shape : {"1n3l3c1t", "1n5l3c1t", "1n7l2c1t", "2n4l4c1t", "1n14l9c2t"}) {
    Topology t = topo(shape);
    for (uint32_t n : {1u, 2u, 3u, 4u, 5u, 7u, 9u}) {
      if (n > t.num_cpus()) continue;
      CpuSet all;
      size_t lo = SIZE_MAX, hi = 0;
      for (uint32_t i = 0; i < n; ++i) {
        auto r = resolve_cpuset_spec(fmt_spec("disjoint", i, n), t);
        ASSERT_TRUE(r.ok()) << r.error().message();
        EXPECT_FALSE(all.intersects(*r)) << shape << " " << i << "/" << n;
        all |= *r;
        lo = std::min(lo, r->count());
        hi = std::max(hi, r->count());
        // Contiguous.
        EXPECT_EQ(r->count(), *r->last() - *r->first() + 1);
      }
      EXPECT_EQ(all, t.all_cpus()) << shape << " n=" << n;
      EXPECT_LE(hi - lo, 1u) << shape << " n=" << n;
    }
  }
  EXPECT_EQ(resolve("disjoint:0/3", topo("1n1l4c1t")), "0");  // 4/3: sizes 1,1,2
  EXPECT_EQ(resolve("disjoint:2/3", topo("1n1l4c1t")), "2-3");
}

TEST(CpusetSpec, DisjointErrors) {
  Topology t = topo("1n1l4c1t");
  expect_error(resolve_cpuset_spec("disjoint:4/4", t),
               "partition index 4 must be below the count 4");
  expect_error(resolve_cpuset_spec("disjoint:0/0", t), "partition count must be >= 1");
  expect_error(resolve_cpuset_spec("disjoint:0/5", t), "5 partitions of the 4 CPUs");
  expect_error(resolve_cpuset_spec("disjoint:1", t), "is not I/N");
}

TEST(CpusetSpec, Overlap) {
  Topology t = topo("1n4l4c1t");  // 16 CPUs, partitions of 4 for n=4
  EXPECT_EQ(resolve("overlap:0/4:0", t), "0-3");
  EXPECT_EQ(resolve("overlap:0/4:50", t), "0-5");  // +2 on the right, clipped on the left
  EXPECT_EQ(resolve("overlap:1/4:50", t), "2-9");
  EXPECT_EQ(resolve("overlap:3/4:50", t), "10-15");
  EXPECT_EQ(resolve("overlap:1/4:25", t), "3-8");
  EXPECT_EQ(resolve("overlap:1/4:100", t), "0-11");
  // Neighbours overlap once pct > 0.
  auto a = resolve_cpuset_spec("overlap:1/4:25", t), b = resolve_cpuset_spec("overlap:2/4:25", t);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ((*a & *b).to_list(), "7-8");
  expect_error(resolve_cpuset_spec("overlap:0/4:101", t), "overlap percentage 101 exceeds 100");
  expect_error(resolve_cpuset_spec("overlap:0/4", t), "overlap needs I/N:PCT");
  expect_error(resolve_cpuset_spec("overlap:4/4:10", t), "partition index 4");
  expect_error(resolve_cpuset_spec("overlap:0/4:x", t), "not a valid overlap percentage");
}

TEST(CpusetSpec, Exact) {
  Topology t = topo("1n2l4c1t");
  EXPECT_EQ(resolve("exact:0-3,7", t), "0-3,7");
  EXPECT_EQ(resolve("exact:5", t), "5");
  expect_error(resolve_cpuset_spec("exact:6-8", t), "cpu 8 does not exist");
  expect_error(resolve_cpuset_spec("exact:", t), "exact needs at least one CPU");
  expect_error(resolve_cpuset_spec("exact:3-1", t),
               "cpuset 'exact:3-1': cpu list '3-1': range end 1 is below start 3");
}

TEST(CpusetSpec, SyntaxErrors) {
  Topology t = topo("1n1l4c1t");
  expect_error(resolve_cpuset_spec("", t), "missing 'kind:'");
  expect_error(resolve_cpuset_spec("llc", t), "cpuset 'llc': missing 'kind:'");
  expect_error(resolve_cpuset_spec("cache:1", t), "unknown kind 'cache'; use llc:K");
  expect_error(resolve_cpuset_spec("llc:1\nnuma:0", t), "is not a valid LLC index");
}

TEST(CpusetSpec, ParseIsTopologyFreeAndRoundTrips) {
  for (std::string_view s : {"llc:3", "numa:1", "range:2-5", "range:4", "range:0.0-0.5",
                             "range:0.25-1.0", "disjoint:1/3", "overlap:0/2:25", "exact:0-3,8"}) {
    auto p = CpusetSpec::parse(s);
    ASSERT_TRUE(p.ok()) << s << ": " << p.error().message();
    EXPECT_EQ(p->to_string(), s);
    auto again = CpusetSpec::parse(p->to_string());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->kind, p->kind);
  }
  // A spec that parses may still not fit a topology.
  auto p = CpusetSpec::parse("llc:40");
  ASSERT_TRUE(p.ok());
  expect_error(p->resolve(topo("1n2l1c1t")), "llc 40 does not exist");
  EXPECT_EQ(CpusetSpec::parse("range:0-0.5")->to_string(), "range:0.0-0.5");
}

}  // namespace
}  // namespace ktstr::topo
