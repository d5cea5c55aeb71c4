#include "topology/host.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "test_util.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::topo {
namespace {

namespace fs = std::filesystem;
using testing::expect_error;

// Builds a fake /sys under a temp dir.
class FakeSysfs {
 public:
  FakeSysfs() {
    auto td = TempDir::create("ktstr-sysfs-");
    EXPECT_TRUE(td.ok());
    if (td.ok()) dir_ = std::move(*td);
  }
  const fs::path& root() const { return dir_.path(); }

  void write(const std::string& rel, const std::string& text) {
    fs::path p = root() / rel;
    fs::create_directories(p.parent_path());
    ASSERT_TRUE(write_file(p, text).ok()) << p;
  }
  void cpu(uint32_t id, uint32_t package, uint32_t core, const std::string& siblings) {
    std::string d = "devices/system/cpu/cpu" + std::to_string(id) + "/topology/";
    write(d + "physical_package_id", std::to_string(package) + "\n");
    write(d + "core_id", std::to_string(core) + "\n");
    write(d + "die_id", "0\n");
    write(d + "thread_siblings_list", siblings + "\n");
  }
  void cache(uint32_t cpu, uint32_t index, uint32_t level, const std::string& type,
             const std::string& shared) {
    std::string d = "devices/system/cpu/cpu" + std::to_string(cpu) + "/cache/index" +
                    std::to_string(index) + "/";
    write(d + "level", std::to_string(level) + "\n");
    write(d + "type", type + "\n");
    write(d + "shared_cpu_list", shared + "\n");
  }
  void node(uint32_t id, const std::string& cpus, const std::string& distance, uint64_t kb) {
    std::string d = "devices/system/node/node" + std::to_string(id) + "/";
    write(d + "cpulist", cpus + "\n");
    if (!distance.empty()) write(d + "distance", distance + "\n");
    write(d + "meminfo", "Node " + std::to_string(id) + " MemTotal:       " + std::to_string(kb) +
                             " kB\nNode " + std::to_string(id) + " MemFree:        1000 kB\n");
  }

 private:
  TempDir dir_;
};

// A failed read of a missing file: an I/O error, still one line.
std::string expect_error_io(const Result<HostTopology>& r) {
  EXPECT_FALSE(r.ok());
  if (r.ok()) return {};
  EXPECT_EQ(r.error().code(), Errc::kIo);
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
  return r.error().message();
}

HostTopology read_ok(const FakeSysfs& fs) {
  auto r = read_host_topology(fs.root());
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? *r : HostTopology{};
}

// 1n2l2c2t numbered like Intel hosts: SMT siblings are cpu c and c+4.
void build_regular_smt(FakeSysfs& fs) {
  fs.write("devices/system/cpu/online", "0-7\n");
  for (uint32_t c = 0; c < 8; ++c) {
    uint32_t core = c % 4;
    std::string sib = std::to_string(core) + "," + std::to_string(core + 4);
    fs.cpu(c, 0, core, sib);
    fs.cache(c, 0, 1, "Data", sib);
    fs.cache(c, 1, 1, "Instruction", sib);
    fs.cache(c, 2, 2, "Unified", sib);
    fs.cache(c, 3, 3, "Unified", core < 2 ? "0-1,4-5" : "2-3,6-7");
  }
  fs.node(0, "0-7", "10", 8 * 1024 * 1024);
}

TEST(HostTopology, RegularSmtTree) {
  FakeSysfs fs;
  build_regular_smt(fs);
  HostTopology h = read_ok(fs);
  ASSERT_EQ(h.cpus.size(), 8u);
  ASSERT_EQ(h.llcs.size(), 2u);
  EXPECT_EQ(h.llcs[0].to_list(), "0-1,4-5");
  EXPECT_EQ(h.llcs[1].to_list(), "2-3,6-7");
  ASSERT_EQ(h.nodes.size(), 1u);
  EXPECT_EQ(h.nodes[0].to_list(), "0-7");
  EXPECT_EQ(h.node_ids, std::vector<uint32_t>{0});
  EXPECT_EQ(h.node_memory_mb, std::vector<uint64_t>{8192});
  EXPECT_EQ(h.distances, (std::vector<std::vector<uint32_t>>{{10}}));
  EXPECT_EQ(h.cpus[5].id, 5u);
  EXPECT_EQ(h.cpus[5].core_id, 1u);
  EXPECT_EQ(h.cpus[5].llc, 0u);
  EXPECT_EQ(h.cpus[6].llc, 1u);
  EXPECT_EQ(h.cpus[5].siblings.to_list(), "1,5");
  EXPECT_EQ(h.cpus[5].node, 0u);
  EXPECT_EQ(h.num_cores(), 4u);
  auto t = h.as_regular();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to_string(), "1n2l2c2t");
  EXPECT_EQ(t->node_memory_mb, std::vector<uint64_t>{8192});
  EXPECT_TRUE(t->validate().ok());
}

TEST(HostTopology, NumaTree) {
  FakeSysfs fs;
  fs.write("devices/system/cpu/online", "0-3");
  for (uint32_t c = 0; c < 4; ++c) {
    fs.cpu(c, c / 2, c % 2, std::to_string(c));
    fs.cache(c, 0, 1, "Data", std::to_string(c));
    fs.cache(c, 1, 3, "Unified", c < 2 ? "0-1" : "2-3");
  }
  fs.node(0, "0-1", "10 21", 2048 * 1024);
  fs.node(1, "2-3", "21 10", 4096 * 1024);
  fs.write("devices/system/node/online", "0-1\n");  // not a nodeN dir: ignored
  HostTopology h = read_ok(fs);
  ASSERT_EQ(h.nodes.size(), 2u);
  EXPECT_EQ(h.nodes[1].to_list(), "2-3");
  EXPECT_EQ(h.cpus[3].node, 1u);
  EXPECT_EQ(h.cpus[3].package, 1u);
  EXPECT_EQ(h.distances, (std::vector<std::vector<uint32_t>>{{10, 21}, {21, 10}}));
  EXPECT_EQ(h.node_memory_mb, (std::vector<uint64_t>{2048, 4096}));
  auto t = h.as_regular();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to_string(), "2n2l2c1t");
  EXPECT_EQ(t->distance(0, 1), 21u);
  EXPECT_EQ(t->node_memory_mb, (std::vector<uint64_t>{2048, 4096}));
  EXPECT_TRUE(t->validate().ok());
}

TEST(HostTopology, MissingCacheAndNumaFallBack) {
  FakeSysfs fs;
  fs.write("devices/system/cpu/online", "0-3\n");
  for (uint32_t c = 0; c < 4; ++c) fs.cpu(c, c / 2, c % 2, std::to_string(c));
  HostTopology h = read_ok(fs);
  ASSERT_EQ(h.llcs.size(), 2u);  // one per package
  EXPECT_EQ(h.llcs[0].to_list(), "0-1");
  EXPECT_EQ(h.llcs[1].to_list(), "2-3");
  ASSERT_EQ(h.nodes.size(), 1u);  // no node dir: one node
  EXPECT_EQ(h.nodes[0].to_list(), "0-3");
  EXPECT_EQ(h.node_memory_mb, std::vector<uint64_t>{0});
  auto t = h.as_regular();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to_string(), "1n2l2c1t");
  EXPECT_TRUE(t->node_memory_mb.empty());  // unknown memory is not carried over
}

TEST(HostTopology, MissingTopologyFilesAndOfflineCpus) {
  FakeSysfs fs;
  fs.write("devices/system/cpu/online", "0-2\n");  // cpu3 offline
  fs.write("devices/system/cpu/cpu0/topology/physical_package_id", "-1\n");
  for (uint32_t c = 0; c < 3; ++c) fs.cache(c, 0, 3, "Unified", "0-3");
  HostTopology h = read_ok(fs);
  ASSERT_EQ(h.cpus.size(), 3u);
  EXPECT_EQ(h.cpus[0].package, 0u);
  EXPECT_EQ(h.cpus[2].core_id, 2u);  // missing core_id: the cpu id
  EXPECT_EQ(h.cpus[2].siblings.to_list(), "2");
  ASSERT_EQ(h.llcs.size(), 1u);
  EXPECT_EQ(h.llcs[0].to_list(), "0-2");  // offline cpu3 dropped
  EXPECT_EQ(h.num_cores(), 3u);
  auto t = h.as_regular();
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->to_string(), "1n1l3c1t");
}

TEST(HostTopology, IrregularHostHasNoSpec) {
  FakeSysfs fs;
  fs.write("devices/system/cpu/online", "0-3\n");
  for (uint32_t c = 0; c < 4; ++c) {
    fs.cpu(c, 0, c, std::to_string(c));
    fs.cache(c, 0, 3, "Unified", c < 3 ? "0-2" : "3");
  }
  HostTopology h = read_ok(fs);
  EXPECT_EQ(h.llcs.size(), 2u);
  EXPECT_FALSE(h.as_regular().has_value());
}

TEST(HostTopology, LlcSpanningNodesIsIrregular) {
  FakeSysfs fs;
  fs.write("devices/system/cpu/online", "0-3\n");
  for (uint32_t c = 0; c < 4; ++c) {
    fs.cpu(c, 0, c, std::to_string(c));
    fs.cache(c, 0, 3, "Unified", "0-3");
  }
  fs.node(0, "0-1", "10 20", 1024);
  fs.node(1, "2-3", "20 10", 1024);
  HostTopology h = read_ok(fs);
  EXPECT_EQ(h.llcs.size(), 1u);
  EXPECT_FALSE(h.as_regular().has_value());
}

TEST(HostTopology, CpuOutsideEveryNodeJoinsTheFirst) {
  FakeSysfs fs;
  fs.write("devices/system/cpu/online", "0-1\n");
  fs.node(0, "0", "", 1024);
  HostTopology h = read_ok(fs);
  EXPECT_EQ(h.nodes[0].to_list(), "0-1");
  EXPECT_EQ(h.cpus[1].node, 0u);
  EXPECT_EQ(h.distances, (std::vector<std::vector<uint32_t>>{{10}}));  // missing: default
}

TEST(HostTopology, Errors) {
  FakeSysfs empty;
  std::string msg = expect_error_io(read_host_topology(empty.root()));
  EXPECT_NE(msg.find("online"), std::string::npos) << msg;

  FakeSysfs bad_online;
  bad_online.write("devices/system/cpu/online", "0-x\n");
  expect_error(read_host_topology(bad_online.root()), "'x' is not a CPU number");

  FakeSysfs bad_id;
  bad_id.write("devices/system/cpu/online", "0\n");
  bad_id.write("devices/system/cpu/cpu0/topology/core_id", "abc\n");
  expect_error(read_host_topology(bad_id.root()), "core_id: 'abc' is not an id");

  FakeSysfs bad_dist;
  bad_dist.write("devices/system/cpu/online", "0-1\n");
  bad_dist.node(0, "0", "10", 1024);
  bad_dist.node(1, "1", "20 10", 1024);
  expect_error(read_host_topology(bad_dist.root()), "node0/distance: 1 distances for 2 nodes");
}

TEST(HostTopology, ReadsThisMachine) {
  if (!fs::exists("/sys/devices/system/cpu/online")) GTEST_SKIP() << "no sysfs";
  auto r = read_host_topology();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_FALSE(r->cpus.empty());
  EXPECT_FALSE(r->llcs.empty());
  EXPECT_FALSE(r->nodes.empty());
  CpuSet all;
  for (const auto& llc : r->llcs) {
    EXPECT_FALSE(all.intersects(llc));
    all |= llc;
  }
  EXPECT_EQ(all.count(), r->cpus.size());
}

}  // namespace
}  // namespace ktstr::topo
