#include "topology/topology.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace ktstr::topo {
namespace {

using testing::expect_error;

Topology parse_ok(std::string_view spec) {
  auto r = Topology::parse(spec);
  EXPECT_TRUE(r.ok()) << spec << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : Topology{};
}

TEST(Topology, ParseFields) {
  Topology t = parse_ok("1n2l4c2t");
  EXPECT_EQ(t.numa_nodes, 1u);
  EXPECT_EQ(t.llcs, 2u);
  EXPECT_EQ(t.cores_per_llc, 4u);
  EXPECT_EQ(t.threads_per_core, 2u);
  EXPECT_EQ(t.num_cpus(), 16u);
  EXPECT_EQ(t.llcs_per_node(), 2u);
  EXPECT_EQ(t.cpus_per_llc(), 8u);
  EXPECT_EQ(t.cpus_per_node(), 16u);
  EXPECT_TRUE(t.node_memory_mb.empty());
  EXPECT_TRUE(t.distances.empty());
}

TEST(Topology, RoundTrip) {
  for (std::string_view s :
       {"1n1l1c1t", "1n2l4c2t", "2n4l4c1t", "4n12l8c2t", "1n14l9c2t", "3n3l1c8t", "1n1l252c1t"}) {
    Topology t = parse_ok(s);
    EXPECT_EQ(t.to_string(), s);
    EXPECT_EQ(parse_ok(t.to_string()), t);
  }
  // Surrounding whitespace and leading zeros are tolerated; output is canonical.
  EXPECT_EQ(parse_ok(" 01n2l4c2t\n").to_string(), "1n2l4c2t");
  EXPECT_EQ(Topology{}.to_string(), "1n1l1c1t");
}

TEST(Topology, GarbageSaysExpectedForm) {
  for (std::string_view s : {"", "abc", "1n2l4c", "1n2l4c2", "1n2l4c2tx", "n2l4c2t", "1l2n4c2t",
                             "1n2l4c2t2", "-1n2l4c2t", "1n 2l4c2t", "1.5n2l4c2t", "1N2L4C2T"}) {
    std::string msg = expect_error(Topology::parse(s), "expected the form NnNlNcNt, e.g. 1n2l4c2t");
    EXPECT_EQ(msg.rfind("topology '", 0), 0u) << msg;
  }
  expect_error(Topology::parse("1n\n2l"), "expected the form");
}

TEST(Topology, ZeroCountsNameTheField) {
  expect_error(Topology::parse("0n1l1c1t"), "numa_nodes must be >= 1");
  expect_error(Topology::parse("1n0l1c1t"), "llcs must be >= 1");
  expect_error(Topology::parse("1n1l0c1t"), "cores_per_llc must be >= 1");
  expect_error(Topology::parse("1n1l1c0t"), "threads_per_core must be >= 1");
}

TEST(Topology, LlcsMustBeMultipleOfNodes) {
  std::string msg = expect_error(Topology::parse("2n3l1c1t"), "llcs");
  EXPECT_NE(msg.find("llcs 3 is not a multiple of numa_nodes 2"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2n4l1c1t"), std::string::npos) << msg;  // suggests a fix
  expect_error(Topology::parse("4n6l1c1t"), "llcs 6 is not a multiple of numa_nodes 4");
  parse_ok("3n6l1c1t");
}

TEST(Topology, CpuLimit) {
  parse_ok("1n14l9c2t");   // 252 exactly
  parse_ok("1n14l18c1t");  // 252 exactly
  std::string msg = expect_error(Topology::parse("1n1l253c1t"), "cpus");
  EXPECT_NE(msg.find("= 253"), std::string::npos) << msg;
  EXPECT_NE(msg.find("252"), std::string::npos) << msg;
  msg = expect_error(Topology::parse("2n16l8c2t"),
                     "16 llcs x 8 cores_per_llc x 2 threads_per_core = 256");
  // Huge products do not overflow into acceptance.
  expect_error(Topology::parse("1n65536l65536c2t"), "cpus");
  expect_error(Topology::parse("1n1l1c99999999999t"), "threads_per_core 99999999999 is too large");
}

TEST(Topology, ThreadsAndNodesLimits) {
  parse_ok("1n1l1c8t");
  expect_error(Topology::parse("1n1l1c9t"), "threads_per_core 9 exceeds the maximum of 8");
  expect_error(Topology::parse("129n129l1c1t"), "numa_nodes 129 exceeds");
}

TEST(Topology, ValidateNodeMemory) {
  Topology t = parse_ok("2n2l1c1t");
  t.node_memory_mb = {512, 512};
  EXPECT_TRUE(t.validate().ok());
  t.node_memory_mb = {512, 0};  // a memoryless node is allowed
  EXPECT_TRUE(t.validate().ok());
  t.node_memory_mb = {1024};
  auto as_result = [&] { return t.validate(); };
  expect_error(as_result(), "node_memory_mb has 1 entries for 2 numa_nodes");
  t.node_memory_mb = {0, 0};
  expect_error(as_result(), "node_memory_mb: total is 0 MB");
}

TEST(Topology, ValidateSlit) {
  Topology t = parse_ok("3n3l1c1t");
  auto v = [&] { return t.validate(); };
  t.distances = {{10, 20, 30}, {20, 10, 20}, {30, 20, 10}};
  EXPECT_TRUE(v().ok());
  EXPECT_EQ(t.distance(0, 2), 30u);
  EXPECT_EQ(t.distance(1, 1), 10u);
  t.distances = {{10, 20, 30}, {20, 10, 20}};
  expect_error(v(), "distances has 2 rows for 3 numa_nodes");
  t.distances = {{10, 20, 30}, {20, 10}, {30, 20, 10}};
  expect_error(v(), "distances row 1 has 2 entries; need 3");
  t.distances = {{10, 20, 30}, {20, 11, 20}, {30, 20, 10}};
  expect_error(v(), "distances[1][1] is 11; the diagonal must be 10");
  t.distances = {{10, 10, 30}, {10, 10, 20}, {30, 20, 10}};
  expect_error(v(), "distances[0][1] is 10; off-diagonal distances must be 11..254");
  t.distances = {{10, 255, 30}, {255, 10, 20}, {30, 20, 10}};
  expect_error(v(), "distances[0][1] is 255");
  t.distances = {{10, 20, 30}, {21, 10, 20}, {30, 20, 10}};
  expect_error(v(), "must be symmetric");
  t.distances = {{10, 254, 11}, {254, 10, 11}, {11, 11, 10}};
  EXPECT_TRUE(v().ok());
}

TEST(Topology, DefaultDistances) {
  Topology t = parse_ok("2n2l1c1t");
  EXPECT_EQ(t.distance(0, 0), 10u);
  EXPECT_EQ(t.distance(0, 1), 20u);
  EXPECT_EQ(t.distance(1, 0), 20u);
  EXPECT_EQ(t.distance(2, 0), 0u);  // not a node
}

TEST(Topology, NumberingMatchesQemuLinearOrder) {
  Topology t = parse_ok("2n4l3c2t");
  // cpu = ((llc * cores_per_llc) + core) * threads_per_core + thread
  EXPECT_EQ(t.locate(0), (CpuLocation{0, 0, 0, 0}));
  EXPECT_EQ(t.locate(1), (CpuLocation{0, 0, 0, 1}));
  EXPECT_EQ(t.locate(2), (CpuLocation{0, 0, 1, 0}));
  EXPECT_EQ(t.locate(6), (CpuLocation{0, 1, 0, 0}));
  EXPECT_EQ(t.locate(12), (CpuLocation{1, 2, 0, 0}));
  EXPECT_EQ(t.locate(23), (CpuLocation{1, 3, 2, 1}));
  EXPECT_EQ(t.cpu_at({1, 3, 2, 1}), 23u);
}

TEST(Topology, LocateAndCpuAtAreInverse) {
  for (std::string_view spec : {"1n1l1c1t", "1n2l4c2t", "1n3l3c1t", "2n8l8c2t", "4n12l8c2t",
                                "1n14l9c2t", "3n6l2c4t", "2n4l4c1t"}) {
    Topology t = parse_ok(spec);
    for (uint32_t cpu = 0; cpu < t.num_cpus(); ++cpu) {
      CpuLocation loc = t.locate(cpu);
      ASSERT_EQ(t.cpu_at(loc), cpu) << spec;
      ASSERT_LT(loc.node, t.numa_nodes);
      ASSERT_LT(loc.llc, t.llcs);
      ASSERT_LT(loc.core, t.cores_per_llc);
      ASSERT_LT(loc.thread, t.threads_per_core);
      ASSERT_EQ(loc.node, loc.llc / t.llcs_per_node());
      ASSERT_TRUE(t.llc_cpus(loc.llc).contains(cpu));
      ASSERT_TRUE(t.node_cpus(loc.node).contains(cpu));
      ASSERT_TRUE(t.sibling_cpus(cpu).contains(cpu));
      ASSERT_EQ(t.sibling_cpus(cpu).count(), t.threads_per_core);
      for (uint32_t s : t.sibling_cpus(cpu)) {
        ASSERT_EQ(t.locate(s).core, loc.core);
        ASSERT_EQ(t.locate(s).llc, loc.llc);
      }
    }
  }
}

TEST(Topology, Sets) {
  Topology t = parse_ok("2n4l2c2t");
  EXPECT_EQ(t.all_cpus().to_list(), "0-15");
  EXPECT_EQ(t.llc_cpus(0).to_list(), "0-3");
  EXPECT_EQ(t.llc_cpus(3).to_list(), "12-15");
  EXPECT_TRUE(t.llc_cpus(4).empty());
  EXPECT_EQ(t.node_cpus(0).to_list(), "0-7");
  EXPECT_EQ(t.node_cpus(1).to_list(), "8-15");
  EXPECT_TRUE(t.node_cpus(2).empty());
  EXPECT_EQ(t.sibling_cpus(5).to_list(), "4-5");
  EXPECT_EQ(t.sibling_cpus(4).to_list(), "4-5");
  EXPECT_TRUE(t.sibling_cpus(16).empty());
  EXPECT_EQ(t.node_llcs(0), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(t.node_llcs(1), (std::vector<uint32_t>{2, 3}));
  EXPECT_TRUE(t.node_llcs(2).empty());
  // LLCs partition the CPUs; nodes are unions of their LLCs.
  CpuSet all;
  for (uint32_t l = 0; l < t.llcs; ++l) {
    EXPECT_FALSE(all.intersects(t.llc_cpus(l)));
    all |= t.llc_cpus(l);
  }
  EXPECT_EQ(all, t.all_cpus());
  for (uint32_t n = 0; n < t.numa_nodes; ++n) {
    CpuSet u;
    for (uint32_t l : t.node_llcs(n)) u |= t.llc_cpus(l);
    EXPECT_EQ(u, t.node_cpus(n));
  }
  EXPECT_EQ(parse_ok("1n2l2c1t").sibling_cpus(1).to_list(), "1");
}

}  // namespace
}  // namespace ktstr::topo
