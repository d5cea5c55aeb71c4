#include "guestmem/ram_layout.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "topology/topology.h"
#include "vm/qemu_command.h"

namespace ktstr::guestmem {
namespace {

constexpr uint64_t kMiB = 1ull << 20;
constexpr uint64_t kGiB = 1ull << 30;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(KTSTR_GUESTMEM_DATA) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The captures used /dev/shm/h1-node<N> for memdev mem<N>.
const std::filesystem::path kNode0 = "/dev/shm/h1-node0";
const std::filesystem::path kNode1 = "/dev/shm/h1-node1";
const std::map<std::string, std::filesystem::path> kTwoBackends = {{"mem0", kNode0},
                                                                    {"mem1", kNode1}};

// The vm::MachineSpec the captures were taken with, for guest_ram_layout().
vm::MachineSpec spec_for(const char* topology, uint64_t memory_mb) {
  vm::MachineSpec s;
  auto t = topo::Topology::parse(topology);
  EXPECT_TRUE(t.ok()) << t.error().message();
  s.topology = *t;
  s.memory_mb = memory_mb;
  s.shm_dir = "/dev/shm";
  s.shm_prefix = "h1";
  return s;
}

std::string error_of(const Result<std::vector<RamRange>>& r) {
  return r.ok() ? "ok" : r.error().message();
}

TEST(ParseFlatMtree, OneNode) {
  auto r = parse_flat_mtree(fixture("one_node_512m.txt"), kTwoBackends);
  ASSERT_TRUE(r.ok()) << r.error().message();
  // 0xc0000-0xfffff is pc.rom and the BIOS, not RAM.
  const std::vector<RamRange> want = {{0, 0xc0000, kNode0, 0},
                                      {0x100000, 512 * kMiB - 0x100000, kNode0, 0x100000}};
  EXPECT_EQ(*r, want);
}

TEST(ParseFlatMtree, TwoNodes) {
  auto r = parse_flat_mtree(fixture("two_nodes_512m.txt"), kTwoBackends);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const std::vector<RamRange> want = {{0, 0xc0000, kNode0, 0},
                                      {0x100000, 256 * kMiB - 0x100000, kNode0, 0x100000},
                                      {256 * kMiB, 256 * kMiB, kNode1, 0}};
  EXPECT_EQ(*r, want);
}

TEST(ParseFlatMtree, RamAboveFourGiB) {
  auto r = parse_flat_mtree(fixture("two_nodes_4g.txt"), kTwoBackends);
  ASSERT_TRUE(r.ok()) << r.error().message();
  // Low RAM ends at 3 GiB; node 1's second half continues at 4 GiB.
  const std::vector<RamRange> want = {{0, 0xc0000, kNode0, 0},
                                      {0x100000, 2 * kGiB - 0x100000, kNode0, 0x100000},
                                      {2 * kGiB, kGiB, kNode1, 0},
                                      {4 * kGiB, kGiB, kNode1, kGiB}};
  EXPECT_EQ(*r, want);
}

TEST(ParseFlatMtree, BootedGuestRomPiecesMergeBack) {
  // After the firmware ran, parts of 0xc0000-0xfffff are mem0 shown as "rom".
  auto r = parse_flat_mtree(fixture("booted_one_node_512m.txt"), kTwoBackends);
  ASSERT_TRUE(r.ok()) << r.error().message();
  const std::vector<RamRange> want = {{0, 512 * kMiB, kNode0, 0}};
  EXPECT_EQ(*r, want);
}

// The mtree agrees with the formula in vm::guest_ram_layout(): every RAM
// piece QEMU reports lies inside one formula region at the same file offset,
// and the formula covers at most the holes below 1 MiB on top.
void expect_matches_formula(const std::string& fixture_name, const char* topology,
                            uint64_t memory_mb) {
  SCOPED_TRACE(fixture_name);
  const vm::MachineSpec spec = spec_for(topology, memory_mb);
  std::map<std::string, std::filesystem::path> backends;
  for (uint32_t n = 0; n < spec.topology.numa_nodes; ++n)
    backends["mem" + std::to_string(n)] = vm::node_shm_path(spec, n);
  auto parsed = parse_flat_mtree(fixture(fixture_name), backends);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message();
  const auto formula = vm::guest_ram_layout(spec);
  uint64_t mtree_bytes = 0;
  for (const RamRange& r : *parsed) {
    mtree_bytes += r.size;
    bool found = false;
    for (const vm::GuestRamRegion& f : formula) {
      if (r.guest_phys < f.guest_phys || r.guest_phys + r.size > f.guest_phys + f.size) continue;
      found = true;
      EXPECT_EQ(r.file, f.shm_path);
      EXPECT_EQ(r.file_offset, f.file_offset + (r.guest_phys - f.guest_phys))
          << "at guest-physical " << std::hex << r.guest_phys;
    }
    EXPECT_TRUE(found) << "no formula region holds " << std::hex << r.guest_phys;
  }
  uint64_t formula_bytes = 0;
  for (const vm::GuestRamRegion& f : formula) formula_bytes += f.size;
  EXPECT_EQ(formula_bytes - mtree_bytes, 0x100000u - 0xc0000u) << "the ROM hole";
}

TEST(ParseFlatMtree, AgreesWithTheFormula) {
  expect_matches_formula("one_node_512m.txt", "1n1l2c1t", 512);
  expect_matches_formula("two_nodes_512m.txt", "2n2l1c1t", 512);
  expect_matches_formula("two_nodes_4g.txt", "2n2l1c1t", 4096);
}

TEST(ParseFlatMtree, LfLineEndingsToo) {
  std::string text = fixture("two_nodes_512m.txt");
  std::erase(text, '\r');
  auto r = parse_flat_mtree(text, kTwoBackends);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->size(), 3u);
}

TEST(ParseFlatMtree, OnlyNamedBackendsAreKept) {
  auto r = parse_flat_mtree(fixture("two_nodes_512m.txt"), {{"mem1", kNode1}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  const std::vector<RamRange> want = {{256 * kMiB, 256 * kMiB, kNode1, 0}};
  EXPECT_EQ(*r, want);
  auto none = parse_flat_mtree(fixture("two_nodes_512m.txt"), {{"pc.ram", kNode0}});
  EXPECT_NE(error_of(none).find("no RAM of backends [pc.ram]"), std::string::npos)
      << error_of(none);
}

TEST(ParseFlatMtree, GarbageInTheMemoryViewNamesTheLine) {
  std::string text = fixture("one_node_512m.txt");
  std::erase(text, '\r');
  const std::string good = "  0000000000100000-000000001fffffff (prio 0, ram): mem0 @0000000000100000";
  // The same line is in the SMM views above, which are not parsed.
  const size_t at = text.find(good, text.find("AS \"memory\""));
  ASSERT_NE(at, std::string::npos);
  const std::string bad = "  0000000000100000-zz (prio 0, ram): mem0";
  text.replace(at, good.size(), bad);
  auto e = error_of(parse_flat_mtree(text, kTwoBackends));
  EXPECT_NE(e.find("line 29: cannot parse '" + bad + "'"), std::string::npos) << e;
}

TEST(ParseFlatMtree, MalformedRangeLinesAreErrors) {
  const std::string head = "FlatView #0\n AS \"memory\", root: system\n Root memory region: system\n";
  for (const char* line : {
           "  0000000000001000-0000000000000fff (prio 0, ram): mem0",  // end before start
           "  0000000000000000-0000000000000fff (prio 0 ram): mem0",
           "  0000000000000000-0000000000000fff (prio 0, ram) mem0",
           "  0000000000000000-0000000000000fff (prio 0, ram): ",
           "  10000000000000000-10000000000000fff (prio 0, ram): mem0",  // > 64 bits
           "  0000000000000000-ffffffffffffffff (prio 0, ram): mem0",  // size 2^64
           "  0000000000000000-0000000000000fff (prio 0, ram): mem0 @ffffffffffffff00",
           "random words",
       }) {
    auto e = error_of(parse_flat_mtree(head + line + "\n", kTwoBackends));
    EXPECT_NE(e.find("line 4"), std::string::npos) << line << " -> " << e;
  }
}

TEST(ParseFlatMtree, OverlappingPiecesAreErrors) {
  const std::string text =
      "FlatView #0\n AS \"memory\", root: system\n Root memory region: system\n"
      "  0000000000000000-0000000000001fff (prio 0, ram): mem0\n"
      "  0000000000001000-0000000000002fff (prio 0, ram): mem1\n";
  EXPECT_NE(error_of(parse_flat_mtree(text, kTwoBackends)).find("overlap at guest-physical 0x1000"),
            std::string::npos);
}

TEST(ParseFlatMtree, NoMemoryViewIsAnError) {
  auto e = error_of(parse_flat_mtree("unknown command: 'info mtre'\r\n", kTwoBackends));
  EXPECT_NE(e.find("no FlatView of address space \"memory\""), std::string::npos) << e;
  EXPECT_NE(e.find("unknown command"), std::string::npos) << e;
  EXPECT_NE(error_of(parse_flat_mtree("", kTwoBackends)), "ok");
  // Other views are not parsed (garbage there does not matter) and not used.
  const std::string other =
      "FlatView #0\n AS \"I/O\", root: io\n Root memory region: io\n  garbage\n";
  EXPECT_NE(error_of(parse_flat_mtree(other, kTwoBackends)).find("no FlatView"),
            std::string::npos);
}

TEST(QueryRamLayout, RunsInfoMtreeOverQmp) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd server(sv[1]);
  const std::string mtree = fixture("two_nodes_512m.txt");
  std::string seen_command;
  std::thread peer([&] {
    std::string buf;
    auto recv_line = [&]() -> nlohmann::json {
      while (buf.find('\n') == std::string::npos) {
        char tmp[4096];
        ssize_t n = ::read(server.get(), tmp, sizeof tmp);
        if (n <= 0) return nullptr;
        buf.append(tmp, static_cast<size_t>(n));
      }
      auto line = buf.substr(0, buf.find('\n'));
      buf.erase(0, line.size() + 1);
      return nlohmann::json::parse(line);
    };
    auto send = [&](const nlohmann::json& j) {
      std::string s = j.dump() + "\n";
      EXPECT_EQ(::write(server.get(), s.data(), s.size()), static_cast<ssize_t>(s.size()));
    };
    send({{"QMP", {{"version", {{"qemu", {{"major", 7}, {"minor", 2}, {"micro", 22}}}}},
                   {"capabilities", nlohmann::json::array()}}}});
    auto caps = recv_line();
    if (caps.is_null()) return;
    send({{"return", nlohmann::json::object()}, {"id", caps["id"]}});
    auto cmd = recv_line();
    if (cmd.is_null()) return;
    seen_command = cmd.dump();
    send({{"return", mtree}, {"id", cmd["id"]}});
  });
  auto qmp = vm::Qmp::connect(UniqueFd(sv[0]), vm::deadline_in(std::chrono::seconds(10)));
  ASSERT_TRUE(qmp.ok()) << qmp.error().message();
  auto r = query_ram_layout(*qmp, kTwoBackends);
  peer.join();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->size(), 3u);
  EXPECT_NE(seen_command.find(R"("command-line":"info mtree -f")"), std::string::npos)
      << seen_command;
  EXPECT_NE(seen_command.find("human-monitor-command"), std::string::npos) << seen_command;
}

}  // namespace
}  // namespace ktstr::guestmem
