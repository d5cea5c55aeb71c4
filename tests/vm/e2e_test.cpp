// End-to-end tests of `ktstr vm` against a real sched_ext kernel under QEMU.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness.h"
#include "topology/topology.h"
#include "util/files.h"

namespace ktstr::vmtest {
namespace {

using nlohmann::json;

// Prints the guest's own view of its topology, one fact per line.
constexpr const char* kTopologyProbe = R"SH(
cd /sys/devices/system/cpu
echo "cpus $(ls -d cpu[0-9]* | wc -l)"
for c in cpu[0-9]*; do
  echo "cpu ${c#cpu} $(cat $c/topology/thread_siblings_list) $(cat $c/cache/index3/shared_cpu_list)"
done
for d in /sys/devices/system/node/node[0-9]*; do
  echo "node ${d##*node} $(cat $d/cpulist) $(cat $d/distance)"
done
)SH";

class GuestTopology : public ::testing::TestWithParam<const char*> {};

TEST_P(GuestTopology, MatchesRequestedTopology) {
  auto topo = topo::Topology::parse(GetParam());
  ASSERT_TRUE(topo.ok());
  Sandbox box;
  auto r = box.run({"vm", "--topology", GetParam(), "--exec", kTopologyProbe});
  ASSERT_EQ(r.status.code, 0) << r.err;

  std::map<std::string, std::string> seen;  // "cpu 3" -> "siblings llc", "node 1" -> ...
  std::istringstream in(r.out);
  std::string line;
  int cpus = -1;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string kind, id;
    ls >> kind >> id;
    std::string rest;
    std::getline(ls, rest);
    if (kind == "cpus") cpus = std::stoi(id);
    if (kind == "cpu" || kind == "node") seen[kind + " " + id] = std::string(trim(rest));
  }
  ASSERT_EQ(cpus, static_cast<int>(topo->num_cpus())) << r.out;
  for (uint32_t cpu = 0; cpu < topo->num_cpus(); ++cpu) {
    auto loc = topo->locate(cpu);
    std::string want =
        topo->sibling_cpus(cpu).to_list() + " " + topo->llc_cpus(loc.llc).to_list();
    EXPECT_EQ(seen["cpu " + std::to_string(cpu)], want) << "cpu " << cpu << " (siblings, LLC)";
  }
  for (uint32_t node = 0; node < topo->numa_nodes; ++node) {
    std::string want = topo->node_cpus(node).to_list() + " ";
    for (uint32_t other = 0; other < topo->numa_nodes; ++other)
      want += std::to_string(topo->distance(node, other)) + (other + 1 < topo->numa_nodes ? " " : "");
    EXPECT_EQ(seen["node " + std::to_string(node)], want) << "node " << node << " (cpus, distances)";
  }
  EXPECT_EQ(box.leftovers(0), "");
}

INSTANTIATE_TEST_SUITE_P(Topologies, GuestTopology,
                         ::testing::Values("1n1l2c1t", "1n2l2c2t", "1n3l1c1t", "2n2l2c1t",
                                           "2n4l1c1t"),
                         [](const auto& info) { return std::string(info.param); });

TEST(Exec, ExitCodeBecomesKtstrs) {
  Sandbox box;
  auto r = box.run({"vm", "--preset", "tiny-1llc", "--exec", "echo hello; echo oops >&2; exit 7"});
  EXPECT_EQ(r.status.code, 7) << r.err;
  EXPECT_NE(r.out.find("hello\n"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("oops\n"), std::string::npos) << r.err;
}

TEST(Exec, OneMiBOfOutputArrivesIntact) {
  Sandbox box;
  // The guest prints 1 MiB of random bytes and their checksum on stderr.
  auto r = box.run({"vm", "--topology", "1n1l2c1t", "--exec",
                    "head -c 1048576 /dev/urandom > /tmp/blob; md5sum < /tmp/blob >&2; cat /tmp/blob"});
  ASSERT_EQ(r.status.code, 0) << r.err;
  ASSERT_EQ(r.out.size(), 1048576u);
  auto tmp = box.tmpdir() / "../ktstr-vmtest-blob";
  ASSERT_TRUE(write_file(tmp, r.out).ok());
  auto sum = run_command({"sh", "-c", "md5sum < '" + tmp.string() + "'"}, std::chrono::seconds(10));
  std::filesystem::remove(tmp);
  ASSERT_TRUE(sum.ok());
  EXPECT_NE(r.err.find(sum->out.substr(0, 32)), std::string::npos)
      << "guest checksum not found in stderr: " << r.err;
}

json read_report(const std::filesystem::path& p) {
  auto text = read_file(p);
  if (!text.ok()) return json();
  return json::parse(*text, nullptr, false);
}

std::string link_text_of_default_kernel() {
  auto r = run_command({KTSTR_BIN, "kernel", "list", "--json"}, std::chrono::seconds(30));
  if (!r.ok()) return "";
  auto j = json::parse(r->out, nullptr, false);
  if (!j.is_array() || j.empty()) return "";
  auto& lt = j[0]["link_text"];
  return lt.is_string() ? lt.get<std::string>() : "";
}

uint64_t hex(const std::string& s) { return std::stoull(s, nullptr, 16); }

TEST(Wire, SysRdyOnceAndKaslrOffsetMatchesGuest) {
  Sandbox box;
  auto report = box.tmpdir().parent_path() / ("ktstr-report-" + std::to_string(::getpid()) + ".json");
  auto r = box.run({"vm", "--preset", "tiny-1llc", "--report", report.string(), "--exec",
                    "grep ' _text$' /proc/kallsyms"});
  ASSERT_EQ(r.status.code, 0) << r.err;
  auto j = read_report(report);
  std::filesystem::remove(report);
  ASSERT_TRUE(j.is_object()) << "no report written";
  EXPECT_EQ(j["sys_rdy_frames"], 1);
  std::string link = link_text_of_default_kernel();
  ASSERT_FALSE(link.empty()) << "kernel cache entry has no link-time _text";
  uint64_t runtime = hex(r.out.substr(0, r.out.find(' ')));
  ASSERT_TRUE(j["kaslr_offset"].is_string()) << j.dump();
  EXPECT_EQ(hex(j["kaslr_offset"]), runtime - hex(link)) << r.out;
}

TEST(Wire, NoKaslrGivesZeroOffset) {
  Sandbox box;
  auto report = box.tmpdir().parent_path() / ("ktstr-report-nk-" + std::to_string(::getpid()) + ".json");
  auto r = box.run({"vm", "--preset", "tiny-1llc", "--nokaslr", "--report", report.string(),
                    "--exec", "true"});
  ASSERT_EQ(r.status.code, 0) << r.err;
  auto j = read_report(report);
  std::filesystem::remove(report);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["kaslr_offset"], "0x0");
}

TEST(Kill, GuestPanicIsAVerdict) {
  Sandbox box;
  auto r = box.run({"vm", "--preset", "tiny-1llc", "--exec", "echo c > /proc/sysrq-trigger; sleep 60"});
  EXPECT_NE(r.status.code, 0);
  EXPECT_NE(r.err.find("kernel panic"), std::string::npos) << r.err;
  EXPECT_EQ(box.leftovers(0), "");
}

TEST(Kill, GuestHangHitsTheTimeout) {
  Sandbox box;
  auto r = box.run({"vm", "--preset", "tiny-1llc", "--timeout", "8", "--exec", "sleep 1000"});
  EXPECT_NE(r.status.code, 0);
  EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
  EXPECT_EQ(box.leftovers(0), "");
}

// Waits until the guest command is running (it printed "started") and
// returns QEMU's pid, a child of ktstr.
pid_t wait_for_running_guest(const Sandbox& box, pid_t ktstr) {
  if (!wait_until([&] { return box.read_stdout().find("started") != std::string::npos; },
                  std::chrono::seconds(200)))
    return 0;
  pid_t qemu = 0;
  wait_until(
      [&] {
        for (pid_t k : children_of(ktstr)) {
          auto comm = read_file_limited("/proc/" + std::to_string(k) + "/comm", 64);
          if (comm.ok() && comm->find("qemu") != std::string::npos) qemu = k;
        }
        return qemu != 0;
      },
      std::chrono::seconds(10));
  return qemu;
}

TEST(Kill, SigkillOfQemuIsReported) {
  Sandbox box;
  Child k = box.start({"vm", "--preset", "tiny-1llc", "--exec", "echo started; sleep 1000"});
  pid_t qemu = wait_for_running_guest(box, k.pid());
  ASSERT_NE(qemu, 0);
  ::kill(qemu, SIGKILL);
  auto st = k.wait_for(std::chrono::seconds(60));
  ASSERT_TRUE(st.ok());
  EXPECT_NE(st->code, 0);
  EXPECT_NE(box.read_stderr().find("QEMU"), std::string::npos) << box.read_stderr();
  EXPECT_EQ(box.leftovers(k.pid()), "");
}

TEST(Kill, SigintOfKtstrCleansUp) {
  Sandbox box;
  Child k = box.start({"vm", "--preset", "tiny-1llc", "--exec", "echo started; sleep 1000"});
  pid_t qemu = wait_for_running_guest(box, k.pid());
  ASSERT_NE(qemu, 0);
  k.signal(SIGINT);
  auto st = k.wait_for(std::chrono::seconds(60));
  ASSERT_TRUE(st.ok());
  EXPECT_NE(st->code, 0);
  EXPECT_NE(box.read_stderr().find("interrupted"), std::string::npos) << box.read_stderr();
  EXPECT_FALSE(process_exists(qemu));
  EXPECT_EQ(box.leftovers(k.pid()), "");
}

// Bad input fails fast with one line, before any VM starts.
void expect_one_line_error(const KtstrRun& r, const std::string& needle) {
  EXPECT_EQ(r.status.code, 2) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST(BadInput, MissingKernel) {
  Sandbox box;
  expect_one_line_error(box.run({"vm", "--kernel", "/nonexistent/bzImage", "--exec", "true"}),
                        "/nonexistent/bzImage");
}

TEST(BadInput, NotAKernel) {
  Sandbox box;
  expect_one_line_error(box.run({"vm", "--kernel", "/bin/sh", "--exec", "true"}), "/bin/sh");
}

TEST(BadInput, ImpossibleTopology) {
  Sandbox box;
  expect_one_line_error(box.run({"vm", "--topology", "2n3l1c1t", "--exec", "true"}), "llcs");
}

TEST(BadInput, MemoryTooSmall) {
  Sandbox box;
  expect_one_line_error(box.run({"vm", "--memory-mb", "16", "--exec", "true"}), "memory");
}

}  // namespace
}  // namespace ktstr::vmtest
