#include "vm/qemu_command.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace ktstr::vm {
namespace {

MachineSpec make_spec(const char* topo, uint64_t memory_mb) {
  MachineSpec s;
  auto t = topo::Topology::parse(topo);
  EXPECT_TRUE(t.ok()) << topo;
  s.topology = *t;
  s.memory_mb = memory_mb;
  s.accel = Accel::kTcg;
  s.kernel = "/k/vmlinuz";
  s.initrd = "/k/initrd.cpio";
  s.shm_prefix = "ktstr-1-ab";
  s.bulk_socket = "/t/bulk.sock";
  s.qmp_socket = "/t/qmp.sock";
  s.console_socket = "/t/console.sock";
  return s;
}

// Every value that follows `flag` in argv, in order.
std::vector<std::string> values(const std::vector<std::string>& argv, const std::string& flag) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag) out.push_back(argv[i + 1]);
  return out;
}

std::vector<std::string> with_prefix(const std::vector<std::string>& v, const std::string& p) {
  std::vector<std::string> out;
  for (auto& s : v)
    if (s.rfind(p, 0) == 0) out.push_back(s);
  return out;
}

bool has(const std::vector<std::string>& argv, const std::string& arg) {
  return std::find(argv.begin(), argv.end(), arg) != argv.end();
}

using Strings = std::vector<std::string>;

TEST(QemuArgv, FixedPrologueAndTcg) {
  auto spec = make_spec("1n1l2c1t", 256);
  ASSERT_TRUE(validate(spec).ok());
  auto a = qemu_argv(spec);
  ASSERT_GE(a.size(), 5u);
  EXPECT_EQ(Strings(a.begin(), a.begin() + 5),
            (Strings{"qemu-system-x86_64", "-nodefaults", "-no-user-config", "-nographic",
                     "-no-reboot"}));
  EXPECT_EQ(values(a, "-machine"), Strings{"pc"});
  EXPECT_EQ(values(a, "-cpu"), Strings{"max"});
  EXPECT_EQ(values(a, "-accel"), Strings{"tcg,thread=single"});
  EXPECT_EQ(values(a, "-m"), Strings{"256M"});
  EXPECT_EQ(values(a, "-kernel"), Strings{"/k/vmlinuz"});
  EXPECT_EQ(values(a, "-initrd"), Strings{"/k/initrd.cpio"});
  EXPECT_FALSE(has(a, "-S"));
}

TEST(QemuArgv, KvmUsesHostCpu) {
  auto spec = make_spec("1n1l2c1t", 256);
  spec.accel = Accel::kKvm;
  auto a = qemu_argv(spec);
  EXPECT_EQ(values(a, "-cpu"), Strings{"host"});
  EXPECT_EQ(values(a, "-accel"), Strings{"kvm"});
  EXPECT_EQ(values(a, "-machine"), Strings{"pc"});
}

TEST(QemuArgv, OneSocketPerLlc) {
  auto a = qemu_argv(make_spec("1n2l2c2t", 512));
  EXPECT_EQ(values(a, "-smp"), Strings{"cpus=8,sockets=2,cores=2,threads=2"});
  auto numa = values(a, "-numa");
  EXPECT_EQ(with_prefix(numa, "cpu,"),
            (Strings{"cpu,node-id=0,socket-id=0", "cpu,node-id=0,socket-id=1"}));
  EXPECT_EQ(with_prefix(numa, "node,"), Strings{"node,nodeid=0,memdev=mem0"});
  EXPECT_TRUE(with_prefix(numa, "dist,").empty());
  EXPECT_EQ(values(a, "-object"),
            Strings{"memory-backend-file,id=mem0,size=512M,mem-path=/dev/shm/ktstr-1-ab-node0,"
                    "share=on,prealloc=off"});
}

TEST(QemuArgv, NodesGetTheirLlcsAndDefaultDistances) {
  auto spec = make_spec("2n4l1c1t", 1001);
  ASSERT_TRUE(validate(spec).ok());
  auto a = qemu_argv(spec);
  EXPECT_EQ(values(a, "-smp"), Strings{"cpus=4,sockets=4,cores=1,threads=1"});
  auto numa = values(a, "-numa");
  EXPECT_EQ(with_prefix(numa, "cpu,"),
            (Strings{"cpu,node-id=0,socket-id=0", "cpu,node-id=0,socket-id=1",
                     "cpu,node-id=1,socket-id=2", "cpu,node-id=1,socket-id=3"}));
  EXPECT_EQ(with_prefix(numa, "dist,"),
            (Strings{"dist,src=0,dst=1,val=20", "dist,src=1,dst=0,val=20"}));
  // 1001 MiB: the first node takes the odd MiB.
  EXPECT_EQ(node_memory_mb(spec), (std::vector<uint64_t>{501, 500}));
  auto objs = values(a, "-object");
  ASSERT_EQ(objs.size(), 2u);
  EXPECT_NE(objs[0].find("id=mem0,size=501M,mem-path=/dev/shm/ktstr-1-ab-node0"),
            std::string::npos);
  EXPECT_NE(objs[1].find("id=mem1,size=500M,mem-path=/dev/shm/ktstr-1-ab-node1"),
            std::string::npos);
  EXPECT_EQ(values(a, "-m"), Strings{"1001M"});
}

TEST(QemuArgv, TwoNodesTwoLlcs) {
  auto a = qemu_argv(make_spec("2n2l2c1t", 512));
  EXPECT_EQ(values(a, "-smp"), Strings{"cpus=4,sockets=2,cores=2,threads=1"});
  EXPECT_EQ(with_prefix(values(a, "-numa"), "cpu,"),
            (Strings{"cpu,node-id=0,socket-id=0", "cpu,node-id=1,socket-id=1"}));
}

TEST(QemuArgv, CustomDistancesAndNodeMemory) {
  auto spec = make_spec("3n3l1c1t", 0);
  spec.topology.distances = {{10, 15, 30}, {15, 10, 25}, {30, 25, 10}};
  spec.topology.node_memory_mb = {256, 128, 64};
  ASSERT_TRUE(validate(spec).ok()) << validate(spec).error().message();
  auto a = qemu_argv(spec);
  EXPECT_EQ(
      with_prefix(values(a, "-numa"), "dist,"),
      (Strings{"dist,src=0,dst=1,val=15", "dist,src=0,dst=2,val=30", "dist,src=1,dst=0,val=15",
               "dist,src=1,dst=2,val=25", "dist,src=2,dst=0,val=30", "dist,src=2,dst=1,val=25"}));
  EXPECT_EQ(values(a, "-m"), Strings{"448M"});
  auto objs = values(a, "-object");
  ASSERT_EQ(objs.size(), 3u);
  EXPECT_NE(objs[2].find("id=mem2,size=64M"), std::string::npos);
}

TEST(QemuArgv, ZeroMemoryNodeIsMemoryless) {
  auto spec = make_spec("2n2l1c1t", 0);
  spec.topology.node_memory_mb = {256, 0};
  ASSERT_TRUE(validate(spec).ok());
  auto a = qemu_argv(spec);
  EXPECT_EQ(with_prefix(values(a, "-numa"), "node,"),
            (Strings{"node,nodeid=0,memdev=mem0", "node,nodeid=1"}));
  EXPECT_EQ(values(a, "-object").size(), 1u);
  EXPECT_EQ(shm_paths(spec), std::vector<std::filesystem::path>{"/dev/shm/ktstr-1-ab-node0"});
}

TEST(QemuArgv, KernelCommandLine) {
  auto spec = make_spec("1n1l1c1t", 256);
  std::string cmd = values(qemu_argv(spec), "-append").at(0);
  EXPECT_NE(cmd.find("console=ttyS0"), std::string::npos);
  EXPECT_NE(cmd.find("panic=-1"), std::string::npos);
  EXPECT_NE(cmd.find("rdinit=/init"), std::string::npos);
  EXPECT_EQ(cmd.find("nokaslr"), std::string::npos);
  spec.kaslr = false;
  spec.cmdline_extra = "loglevel=7 foo=bar";
  cmd = values(qemu_argv(spec), "-append").at(0);
  EXPECT_NE(cmd.find(" nokaslr"), std::string::npos);
  // Extras come last so they override the defaults.
  EXPECT_EQ(cmd.substr(cmd.size() - std::string(" loglevel=7 foo=bar").size()),
            " loglevel=7 foo=bar");
}

TEST(QemuArgv, ChardevsAndPorts) {
  auto spec = make_spec("1n1l1c1t", 256);
  auto a = qemu_argv(spec);
  EXPECT_EQ(values(a, "-chardev"),
            (Strings{"socket,id=con,path=/t/console.sock", "socket,id=bulk,path=/t/bulk.sock",
                     "socket,id=qmp,path=/t/qmp.sock"}));
  EXPECT_EQ(values(a, "-serial"), Strings{"chardev:con"});
  EXPECT_EQ(values(a, "-mon"), Strings{"chardev=qmp,mode=control"});
  EXPECT_EQ(values(a, "-device"),
            (Strings{"virtio-serial-pci,id=vser",
                     "virtserialport,bus=vser.0,chardev=bulk,name=ktstr.bulk"}));

  spec.console = ConsoleMode::kStdio;
  spec.console_socket.clear();
  ASSERT_TRUE(validate(spec).ok());
  a = qemu_argv(spec);
  EXPECT_EQ(values(a, "-chardev").at(0), "stdio,id=con,signal=off");
}

TEST(QemuArgv, CommasInPathsAreEscaped) {
  auto spec = make_spec("1n1l1c1t", 256);
  spec.qmp_socket = "/t/a,b/qmp.sock";
  spec.shm_dir = "/shm,x";
  auto a = qemu_argv(spec);
  EXPECT_TRUE(has(a, "socket,id=qmp,path=/t/a,,b/qmp.sock"));
  EXPECT_NE(values(a, "-object").at(0).find("mem-path=/shm,,x/ktstr-1-ab-node0,"),
            std::string::npos);
}

TEST(QemuArgv, StartPaused) {
  auto spec = make_spec("1n1l1c1t", 256);
  spec.start_paused = true;
  auto a = qemu_argv(spec);
  EXPECT_EQ(a.back(), "-S");
}

TEST(QemuArgv, NoInitrd) {
  auto spec = make_spec("1n1l1c1t", 256);
  spec.initrd.clear();
  ASSERT_TRUE(validate(spec).ok());
  EXPECT_FALSE(has(qemu_argv(spec), "-initrd"));
}

std::string error_of(const MachineSpec& spec) {
  auto st = validate(spec);
  EXPECT_FALSE(st.ok());
  return st.ok() ? "" : st.error().message();
}

TEST(Validate, MemoryTooSmall) {
  auto msg = error_of(make_spec("1n1l1c1t", 64));
  EXPECT_NE(msg.find("memory_mb 64"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
}

TEST(Validate, NodeMemoryTooSmall) {
  auto msg = error_of(make_spec("16n16l1c1t", 200));
  EXPECT_NE(msg.find("memory_mb 200"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node 0 only 13 MiB"), std::string::npos) << msg;
  EXPECT_TRUE(validate(make_spec("8n8l1c1t", 128)).ok());
}

TEST(Validate, NodeMemoryMustMatchTotal) {
  auto spec = make_spec("2n2l1c1t", 512);
  spec.topology.node_memory_mb = {128, 128};
  auto msg = error_of(spec);
  EXPECT_NE(msg.find("memory_mb 512"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node_memory_mb"), std::string::npos) << msg;
  spec.memory_mb = 256;
  EXPECT_TRUE(validate(spec).ok());
  EXPECT_EQ(total_memory_mb(spec), 256u);
}

TEST(Validate, NodeZeroNeedsMemory) {
  auto spec = make_spec("2n2l1c1t", 0);
  spec.topology.node_memory_mb = {0, 256};
  EXPECT_NE(error_of(spec).find("node_memory_mb[0]"), std::string::npos);
}

TEST(Validate, AccelMustBeResolved) {
  auto spec = make_spec("1n1l1c1t", 256);
  spec.accel = Accel::kAuto;
  EXPECT_NE(error_of(spec).find("resolve_accel"), std::string::npos);
}

TEST(Validate, BadTopologyIsNamed) {
  auto spec = make_spec("1n1l1c1t", 256);
  spec.topology.numa_nodes = 2;
  spec.topology.llcs = 3;
  auto msg = error_of(spec);
  EXPECT_NE(msg.find("topology"), std::string::npos) << msg;
  EXPECT_NE(msg.find("llcs 3"), std::string::npos) << msg;
}

TEST(Validate, ApicIdsMustFitWithoutX2apic) {
  // Checked against QEMU 7.2: 64 sockets x 3 cores tops out at APIC id 254
  // and starts; 85 x 3 (id 338) is refused by QEMU too.
  EXPECT_TRUE(validate(make_spec("1n64l3c1t", 256)).ok());
  EXPECT_TRUE(validate(make_spec("1n63l4c1t", 256)).ok());
  auto msg = error_of(make_spec("1n84l3c1t", 256));
  EXPECT_NE(msg.find("APIC ids would reach 334"), std::string::npos) << msg;
}

TEST(Validate, FieldsAreNamed) {
  auto spec = make_spec("1n1l1c1t", 256);
  spec.kernel.clear();
  EXPECT_NE(error_of(spec).find("kernel"), std::string::npos);
  spec = make_spec("1n1l1c1t", 256);
  spec.shm_prefix = "a/b";
  EXPECT_NE(error_of(spec).find("shm_prefix"), std::string::npos);
  spec = make_spec("1n1l1c1t", 256);
  spec.qmp_socket.clear();
  EXPECT_NE(error_of(spec).find("qmp_socket"), std::string::npos);
  spec = make_spec("1n1l1c1t", 256);
  spec.console_socket.clear();
  EXPECT_NE(error_of(spec).find("console_socket"), std::string::npos);
  spec = make_spec("1n1l1c1t", 256);
  spec.cmdline_extra = "a\nb";
  EXPECT_NE(error_of(spec).find("cmdline_extra"), std::string::npos);
}

TEST(GuestRamLayout, SmallRamIsAllLow) {
  auto spec = make_spec("2n2l1c1t", 512);
  auto r = guest_ram_layout(spec);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].node, 0u);
  EXPECT_EQ(r[0].guest_phys, 0u);
  EXPECT_EQ(r[0].size, 256ull << 20);
  EXPECT_EQ(r[1].node, 1u);
  EXPECT_EQ(r[1].guest_phys, 256ull << 20);
  EXPECT_EQ(r[1].file_offset, 0u);
  EXPECT_EQ(r[1].shm_path, "/dev/shm/ktstr-1-ab-node1");
}

TEST(GuestRamLayout, RamAboveThreeAndAHalfGiBSplitsAtThreeGiB) {
  auto spec = make_spec("2n2l1c1t", 4096);
  auto r = guest_ram_layout(spec);
  ASSERT_EQ(r.size(), 3u);
  const uint64_t G = 1ull << 30;
  EXPECT_EQ(r[0].guest_phys, 0u);
  EXPECT_EQ(r[0].size, 2 * G);
  EXPECT_EQ(r[1].node, 1u);
  EXPECT_EQ(r[1].guest_phys, 2 * G);
  EXPECT_EQ(r[1].size, 1 * G);
  EXPECT_EQ(r[2].node, 1u);
  EXPECT_EQ(r[2].file_offset, 1 * G);
  EXPECT_EQ(r[2].guest_phys, 4 * G);
  EXPECT_EQ(r[2].size, 1 * G);
}

TEST(GuestRamLayout, BelowThreeAndAHalfGiBStaysLow) {
  auto r = guest_ram_layout(make_spec("1n1l1c1t", 3500));
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].size, 3500ull << 20);
}

TEST(QemuArgv, GdbStubOnlyWhenASocketIsGiven) {
  auto spec = make_spec("1n1l1c1t", 256);
  auto a = qemu_argv(spec);
  EXPECT_TRUE(values(a, "-gdb").empty());
  EXPECT_TRUE(with_prefix(values(a, "-chardev"), "socket,id=gdb0").empty());

  spec.gdb_socket = "/t/g,db.sock";
  ASSERT_TRUE(validate(spec).ok());
  a = qemu_argv(spec);
  // QEMU listens without waiting: the VM boots with no debugger attached.
  EXPECT_EQ(with_prefix(values(a, "-chardev"), "socket,id=gdb0"),
            Strings{"socket,id=gdb0,path=/t/g,,db.sock,server=on,wait=off"});
  EXPECT_EQ(values(a, "-gdb"), Strings{"chardev:gdb0"});

  spec.gdb_socket = "/t/g\ndb.sock";
  EXPECT_NE(error_of(spec).find("gdb_socket"), std::string::npos);
}

}  // namespace
}  // namespace ktstr::vm
