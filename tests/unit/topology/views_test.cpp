// JSON and text views of topologies.
#include <gtest/gtest.h>

#include "topology/describe.h"
#include "topology/json.h"
#include "topology/presets.h"

namespace ktstr::topo {
namespace {

Topology topo(std::string_view spec) {
  auto t = Topology::parse(spec);
  EXPECT_TRUE(t.ok()) << spec;
  return t.ok() ? *t : Topology{};
}

TEST(TopologyJson, Shape) {
  auto t = preset("numa4-12llc");
  ASSERT_TRUE(t.ok());
  nlohmann::json j = to_json(*t);
  EXPECT_EQ(j["spec"], "4n12l8c2t");
  EXPECT_EQ(j["numa_nodes"], 4);
  EXPECT_EQ(j["llcs"], 12);
  EXPECT_EQ(j["cores_per_llc"], 8);
  EXPECT_EQ(j["threads_per_core"], 2);
  EXPECT_EQ(j["cpus"], 192);
  ASSERT_EQ(j["node_list"].size(), 4u);
  ASSERT_EQ(j["llc_list"].size(), 12u);
  ASSERT_EQ(j["cpu_list"].size(), 192u);
  const auto& n1 = j["node_list"][1];
  EXPECT_EQ(n1["id"], 1);
  EXPECT_EQ(n1["cpus"], "48-95");
  EXPECT_EQ(n1["llcs"], (std::vector<uint32_t>{3, 4, 5}));
  EXPECT_TRUE(n1["memory_mb"].is_null());
  EXPECT_EQ(n1["distances"], (std::vector<uint32_t>{20, 10, 20, 20}));
  const auto& l5 = j["llc_list"][5];
  EXPECT_EQ(l5["id"], 5);
  EXPECT_EQ(l5["node"], 1);
  EXPECT_EQ(l5["cpus"], "80-95");
  const auto& c = j["cpu_list"][83];
  EXPECT_EQ(c["cpu"], 83);
  EXPECT_EQ(c["node"], 1);
  EXPECT_EQ(c["llc"], 5);
  EXPECT_EQ(c["core"], 1);
  EXPECT_EQ(c["thread"], 1);
  EXPECT_EQ(c["siblings"], "82-83");
}

TEST(TopologyJson, CarriesMemoryAndSlit) {
  Topology t = topo("2n2l1c1t");
  t.node_memory_mb = {1024, 3072};
  t.distances = {{10, 31}, {31, 10}};
  nlohmann::json j = to_json(t);
  EXPECT_EQ(j["node_list"][1]["memory_mb"], 3072);
  EXPECT_EQ(j["node_list"][0]["distances"], (std::vector<uint32_t>{10, 31}));
}

HostTopology small_host() {
  HostTopology h;
  for (uint32_t c = 0; c < 4; ++c) h.cpus.push_back({c, c / 2, 0, 0, c % 2, c / 2, CpuSet{c}});
  h.llcs = {CpuSet{0, 1}, CpuSet{2, 3}};
  h.nodes = {CpuSet{0, 1}, CpuSet{2, 3}};
  h.node_ids = {0, 1};
  h.distances = {{10, 20}, {20, 10}};
  h.node_memory_mb = {100, 200};
  return h;
}

TEST(HostJson, Shape) {
  nlohmann::json j = to_json(small_host());
  EXPECT_EQ(j["source"], "host");
  EXPECT_EQ(j["regular"], "2n2l2c1t");
  EXPECT_EQ(j["numa_nodes"], 2);
  EXPECT_EQ(j["llcs"], 2);
  EXPECT_EQ(j["cores"], 4);
  EXPECT_EQ(j["cpus"], 4);
  EXPECT_EQ(j["node_list"][1]["cpus"], "2-3");
  EXPECT_EQ(j["node_list"][1]["llcs"], std::vector<uint32_t>{1});
  EXPECT_EQ(j["node_list"][1]["memory_mb"], 200);
  EXPECT_EQ(j["node_list"][1]["sysfs_id"], 1);
  EXPECT_EQ(j["llc_list"][1]["node"], 1);
  EXPECT_EQ(j["cpu_list"][3]["llc"], 1);
  EXPECT_EQ(j["cpu_list"][3]["core_id"], 1);
  EXPECT_EQ(j["cpu_list"][3]["siblings"], "3");
  HostTopology odd = small_host();
  odd.llcs = {CpuSet{0, 1, 2}, CpuSet{3}};
  EXPECT_TRUE(to_json(odd)["regular"].is_null());
}

TEST(Describe, Topology) {
  std::string s = describe(topo("2n4l2c2t"));
  EXPECT_EQ(s.rfind("2n4l2c2t: 2 nodes, 4 LLCs, 2 cores/LLC, 2 threads/core = 16 CPUs\n", 0), 0u)
      << s;
  EXPECT_NE(s.find("node 1: cpus 8-15, llcs 2-3\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  llc 3: cpus 12-15\n"), std::string::npos) << s;
  EXPECT_NE(s.find("distances:"), std::string::npos) << s;
  std::string one = describe(topo("1n1l1c1t"));
  EXPECT_EQ(one.rfind("1n1l1c1t: 1 node, 1 LLC, 1 core/LLC, 1 thread/core = 1 CPU\n", 0), 0u);
  EXPECT_NE(one.find("node 0: cpus 0, llcs 0\n"), std::string::npos) << one;
  EXPECT_EQ(one.find("distances"), std::string::npos);
}

TEST(Describe, Host) {
  std::string s = describe(small_host());
  EXPECT_EQ(s.rfind("host: 2 nodes, 2 LLCs, 4 cores, 1 thread/core = 4 CPUs (2n2l2c1t)\n", 0), 0u)
      << s;
  EXPECT_NE(s.find("node 1: cpus 2-3, 200 MB\n  llc 1: cpus 2-3\n"), std::string::npos) << s;
  HostTopology odd = small_host();
  odd.llcs = {CpuSet{0, 1, 2}, CpuSet{3}};
  EXPECT_NE(describe(odd).find("(irregular"), std::string::npos);
}

TEST(Describe, PresetTableHasEveryPreset) {
  std::string s = preset_table();
  size_t lines = 0;
  for (char c : s) lines += c == '\n';
  EXPECT_EQ(lines, presets().size() + 1);  // header + one row each
  for (const Preset& p : presets()) EXPECT_NE(s.find(p.name), std::string::npos) << p.name;
  EXPECT_NE(s.find("max-cpu              1n14l9c2t    252"), std::string::npos) << s;
}

}  // namespace
}  // namespace ktstr::topo
