#include "vm/machine.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>

#include "util/files.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"
#include "vm/shm.h"

namespace ktstr::vm {
namespace {

using std::chrono::milliseconds;

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

bool dir_empty(const std::filesystem::path& d) { return std::filesystem::is_empty(d); }

class MachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto shm = TempDir::create("ktstr-vm-shm-");
    auto tmp = TempDir::create("ktstr-vm-tmp-");
    ASSERT_TRUE(shm.ok() && tmp.ok());
    shm_ = std::move(*shm);
    tmp_ = std::move(*tmp);
    ::unsetenv("KTSTR_FAKE_QEMU_MODE");
  }
  void TearDown() override { ::unsetenv("KTSTR_FAKE_QEMU_MODE"); }

  MachineSpec spec(const char* topo = "2n2l1c1t") {
    MachineSpec s;
    s.topology = *topo::Topology::parse(topo);
    s.memory_mb = 256;
    s.accel = Accel::kTcg;
    s.kernel = KTSTR_FAKE_QEMU;  // any readable file
    s.shm_dir = shm_.path();
    return s;
  }
  StartOptions options() {
    StartOptions o;
    o.qemu_binary = KTSTR_FAKE_QEMU;
    o.temp_base = tmp_.path();
    o.connect_timeout = milliseconds(20000);
    return o;
  }
  Result<Machine> start(const char* mode, StartOptions o) {
    if (mode) ::setenv("KTSTR_FAKE_QEMU_MODE", mode, 1);
    return Machine::start(spec(), std::move(o));
  }

  TempDir shm_, tmp_;
};

TEST_F(MachineTest, RunsWiresEverythingAndCleansUpOnDestruction) {
  std::vector<std::string> lines;
  std::mutex mu;
  auto o = options();
  o.on_console_line = [&](std::string_view l) {
    std::lock_guard lock(mu);
    lines.emplace_back(l);
  };
  pid_t pid;
  std::vector<std::filesystem::path> shm;
  std::filesystem::path vm_dir;
  {
    auto m = start(nullptr, o);
    ASSERT_TRUE(m.ok()) << m.error().message();
    pid = m->qemu_pid();
    EXPECT_TRUE(process_exists(pid));
    EXPECT_TRUE(m->running());

    // Paths were filled in and live in the private temp dir.
    vm_dir = m->spec().qmp_socket.parent_path();
    EXPECT_EQ(vm_dir.parent_path(), tmp_.path());
    EXPECT_EQ(m->console_log().parent_path(), vm_dir);
    EXPECT_EQ(m->spec().shm_prefix.rfind("ktstr-" + std::to_string(::getpid()) + "-", 0), 0u);

    // One 0600 RAM file per node, registered while the VM lives.
    shm = m->shm_files();
    ASSERT_EQ(shm.size(), 2u);
    for (auto& f : shm) {
      struct stat st;
      ASSERT_EQ(::stat(f.c_str(), &st), 0) << f;
      EXPECT_EQ(st.st_mode & 0777, 0600u);
      auto live = live_shm_files();
      EXPECT_NE(std::find(live.begin(), live.end(), f), live.end());
    }
    EXPECT_EQ(m->guest_ram().size(), 2u);

    // QMP works.
    auto status = m->qmp().query_status();
    ASSERT_TRUE(status.ok()) << status.error().message();
    EXPECT_EQ(*status, "running");
    auto cpus = m->qmp().query_cpus_fast();
    ASSERT_TRUE(cpus.ok());
    EXPECT_EQ(cpus->size(), 2u);

    // The bulk port is a byte stream to the guest (the fake echoes).
    ASSERT_TRUE(write_all(m->bulk_fd(), "ping").ok());
    std::string echo;
    while (echo.size() < 4) {
      char buf[16];
      ssize_t n = ::read(m->bulk_fd(), buf, sizeof buf);
      ASSERT_GT(n, 0);
      echo.append(buf, static_cast<size_t>(n));
    }
    EXPECT_EQ(echo, "ping");

    // Still running: a short wait times out and leaves it running.
    auto w = m->wait_exit(deadline_in(milliseconds(20)));
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.error().code(), Errc::kTimeout);
    EXPECT_TRUE(m->running());
  }
  EXPECT_FALSE(process_exists(pid));
  for (auto& f : shm) EXPECT_FALSE(std::filesystem::exists(f)) << f;
  EXPECT_FALSE(std::filesystem::exists(vm_dir));
  EXPECT_TRUE(dir_empty(tmp_.path()));
  EXPECT_TRUE(dir_empty(shm_.path()));
  EXPECT_TRUE(live_shm_files().empty());
  EXPECT_TRUE(live_qemu_pids().empty());
  std::lock_guard lock(mu);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines[0], "fake: booting");
}

TEST_F(MachineTest, GuestPoweroffEndsWaitExitWithTheWholeConsole) {
  auto m = start(nullptr, options());
  ASSERT_TRUE(m.ok()) << m.error().message();
  ASSERT_TRUE(m->qmp().execute("x-fake-poweroff").ok());
  auto st = m->wait_exit(deadline_in(milliseconds(20000)));
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(st->success());
  EXPECT_FALSE(m->running());
  auto tail = m->console_tail();
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail.back(), "[    2.0] reboot: Power down");
  EXPECT_FALSE(m->panic_message());
  auto log = read_file(m->console_log());
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("fake: booting\r\n"), std::string::npos);
  // kill() after exit is a no-op that reports the same status.
  EXPECT_TRUE(m->kill().success());
}

TEST_F(MachineTest, KernelPanicIsRecorded) {
  auto m = start("panic", options());
  ASSERT_TRUE(m.ok()) << m.error().message();
  auto st = m->wait_exit(deadline_in(milliseconds(20000)));
  ASSERT_TRUE(st.ok());
  ASSERT_TRUE(m->panic_message());
  EXPECT_EQ(*m->panic_message(), "[    1.0] Kernel panic - not syncing: fake");
  EXPECT_EQ(m->console_incidents().size(), 2u);
}

TEST_F(MachineTest, QemuFailingAtStartupReportsItsStderrAndLeavesNothing) {
  auto m = start("exit", options());
  ASSERT_FALSE(m.ok());
  const auto msg = m.error().message();
  EXPECT_NE(msg.find("exit code 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("-machine pc: fake failure"), std::string::npos) << msg;
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  EXPECT_TRUE(dir_empty(tmp_.path()));
  EXPECT_TRUE(dir_empty(shm_.path()));
  EXPECT_TRUE(live_qemu_pids().empty());
  EXPECT_TRUE(live_shm_files().empty());
}

TEST_F(MachineTest, ConnectTimeoutKillsQemuAndCleansUp) {
  auto o = options();
  o.connect_timeout = milliseconds(200);
  auto m = start("noconnect", o);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().code(), Errc::kTimeout);
  EXPECT_NE(m.error().message().find("did not connect"), std::string::npos);
  EXPECT_TRUE(dir_empty(tmp_.path()));
  EXPECT_TRUE(dir_empty(shm_.path()));
  EXPECT_TRUE(live_qemu_pids().empty());
}

TEST_F(MachineTest, KillEscalatesToSigkill) {
  auto m = start("stubborn", options());
  ASSERT_TRUE(m.ok()) << m.error().message();
  pid_t pid = m->qemu_pid();
  auto st = m->kill();
  EXPECT_TRUE(st.signaled);
  EXPECT_EQ(st.signal, SIGKILL);
  EXPECT_FALSE(process_exists(pid));
  EXPECT_FALSE(m->running());
}

TEST_F(MachineTest, MissingBinaryIsAnError) {
  auto o = options();
  o.qemu_binary = "/nonexistent/qemu-system-x86_64";
  auto m = Machine::start(spec(), o);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("qemu_binary"), std::string::npos);
  EXPECT_TRUE(dir_empty(tmp_.path()));
}

TEST_F(MachineTest, InvalidSpecIsRejectedBeforeSpawning) {
  auto s = spec();
  s.memory_mb = 64;
  auto m = Machine::start(s, options());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("memory_mb 64"), std::string::npos);
  EXPECT_TRUE(dir_empty(tmp_.path()));
}

TEST_F(MachineTest, UnreadableKernelIsNamed) {
  auto s = spec();
  s.kernel = "/nonexistent/vmlinuz";
  auto m = Machine::start(s, options());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("kernel /nonexistent/vmlinuz"), std::string::npos);
}

TEST_F(MachineTest, LeftoversOfDeadProcessesAreRemovedAtStart) {
  auto child = Child::spawn({"true"});
  ASSERT_TRUE(child.ok());
  pid_t dead = child->pid();
  child->wait();
  auto stale = shm_.path() / ("ktstr-" + std::to_string(dead) + "-0123-node0");
  ASSERT_TRUE(write_file(stale, "x").ok());
  auto stale_dir = tmp_.path() / ("ktstr-vm-" + std::to_string(dead) + "-AbCdEf");
  auto live_dir = tmp_.path() / "ktstr-vm-1-AbCdEf";  // pid 1 is alive
  ASSERT_TRUE(std::filesystem::create_directories(stale_dir / "sub"));
  ASSERT_TRUE(write_file(stale_dir / "sub" / "console.log", "x").ok());
  ASSERT_TRUE(std::filesystem::create_directory(live_dir));
  auto m = start(nullptr, options());
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_FALSE(std::filesystem::exists(stale));
  EXPECT_FALSE(std::filesystem::exists(stale_dir));
  EXPECT_TRUE(std::filesystem::exists(live_dir));
  std::filesystem::remove(live_dir);
}

TEST_F(MachineTest, MovedMachineStillCleansUpOnce) {
  pid_t pid;
  {
    auto m = start(nullptr, options());
    ASSERT_TRUE(m.ok()) << m.error().message();
    Machine a = std::move(*m);
    Machine b;
    b = std::move(a);
    pid = b.qemu_pid();
    EXPECT_TRUE(b.running());
  }
  EXPECT_FALSE(process_exists(pid));
  EXPECT_TRUE(dir_empty(tmp_.path()));
  EXPECT_TRUE(dir_empty(shm_.path()));
}

TEST_F(MachineTest, GdbSocketOnlyWhenAsked) {
  {
    auto m = start(nullptr, options());
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_TRUE(m->gdb_socket().empty());
    EXPECT_TRUE(m->spec().gdb_socket.empty());
    EXPECT_EQ(std::find(m->argv().begin(), m->argv().end(), "-gdb"), m->argv().end());
  }
  auto s = spec();
  s.gdbstub = true;
  s.gdb_socket = "/elsewhere/ignored.sock";  // Machine picks the path
  auto m = Machine::start(s, options());
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->gdb_socket(), m->spec().qmp_socket.parent_path() / "gdb.sock");
  EXPECT_EQ(m->spec().gdb_socket, m->gdb_socket());
  auto gdb = std::find(m->argv().begin(), m->argv().end(), "-gdb");
  ASSERT_NE(gdb, m->argv().end());
  EXPECT_EQ(*(gdb + 1), "chardev:gdb0");
}

}  // namespace
}  // namespace ktstr::vm
