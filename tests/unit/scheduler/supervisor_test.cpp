// SchedulerSupervisor against a fake kernel: a temp dir stands in for
// /sys/kernel/sched_ext and /dev/kmsg, and a shell script plays the
// scheduler (attaches by writing "enabled", logs kernel lines like 7.2's
// ext.c, then runs, exits or "stalls" as its mode says).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <thread>

#include "guest/scheduler_supervisor.h"
#include "scheduler/exit_kind.h"
#include "util/files.h"
#include "util/temp_dir.h"
#include "wire/assembler.h"
#include "wire/messages.h"

namespace ktstr::guest {
namespace {

namespace fs = std::filesystem;
namespace sx = ktstr::scheduler;
using std::chrono::milliseconds;

constexpr std::string_view kFakeScheduler = R"SH(#!/bin/sh
sysfs=$1; kmsg=$2; mode=$3; dir=$4
klog() { printf '%s\n' "$1" >> "$kmsg"; }
attach() {
  mkdir -p "$sysfs/root"
  echo "${1:-fake}" > "$sysfs/root/ops"
  echo 1 > "$sysfs/switch_all"
  echo enabled > "$sysfs/state"
  klog "6,10,2000000,-;sched_ext: BPF scheduler \"${1:-fake}\" enabled"
}
detach() {
  klog "6,11,3000000,-;sched_ext: BPF scheduler \"fake\" disabled ($1)"
  echo disabled > "$sysfs/state"
}
wait_go() { while [ ! -e "$dir/go" ]; do sleep 0.01; done; }
echo "fake: loading"
echo "fake: a warning" >&2
case "$mode" in
  run)
    trap 'detach "unregistered from user space"; echo "fake: bye"; exit 0' TERM
    attach
    while :; do sleep 0.01; done ;;
  stubborn)
    trap '' TERM
    attach
    while :; do sleep 0.01; done ;;
  die) echo "fake: cannot load BPF program"; exit 1 ;;
  never) while :; do sleep 0.01; done ;;
  wrongops) attach other; while :; do sleep 0.01; done ;;
  exit)
    attach; wait_go
    echo "fake: exiting with 3"
    detach "unregistered from user space"
    exit 3 ;;
  silent_exit) attach; wait_go; exit 5 ;;
  bpf_exit)
    attach; wait_go
    echo "EXIT: unregistered from BPF (done (really) now) on CPU 1"
    detach "unregistered from BPF"
    while :; do sleep 0.01; done ;;
  stall)
    attach; wait_go
    klog "3,12,3000000,-;sched_ext: BPF scheduler \"fake\" disabled (runnable task stall)"
    klog "3,13,3000001,-;sched_ext: fake: kworker/0:1[12] failed to run for 6.024s"
    klog "4,14,3000002,-;  scx_watchdog_workfn+0x154/0x1e0"
    klog " SUBSYSTEM=cpu"
    echo disabled > "$sysfs/state"
    echo "EXIT: runnable task stall (kworker/0:1[12] failed to run for 6.024s)"
    exit 0 ;;
esac
)SH";

struct Frames {
  std::string sched_log;
  std::vector<wire::SchedExit> exits;
  size_t other = 0;
};

class Supervisor : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("ktstr-supervisor-");
    ASSERT_TRUE(d.ok());
    dir_ = std::move(*d);
    fs::create_directories(sysfs());
    ASSERT_TRUE(write_file(sysfs() / "state", "disabled\n").ok());
    // An older record: the supervisor reads the log from its start on.
    ASSERT_TRUE(write_file(kmsg(), "3,1,1000,-;sched_ext: BPF scheduler \"old\" disabled "
                                   "(runtime error)\n")
                    .ok());
    ASSERT_TRUE(write_file(script(), kFakeScheduler).ok());
    ASSERT_EQ(::chmod(script().c_str(), 0755), 0);
    frames_fd_.reset(::open((root() / "frames").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    ASSERT_TRUE(frames_fd_.valid());
    sink_ = std::make_unique<FrameSink>(frames_fd_.get());
  }

  fs::path root() const { return dir_.path(); }
  fs::path sysfs() const { return root() / "sched_ext"; }
  fs::path kmsg() const { return root() / "kmsg"; }
  fs::path script() const { return root() / "fake_sched.sh"; }
  void go() { ASSERT_TRUE(write_file(root() / "go", "").ok()); }

  SupervisorOptions options() const {
    SupervisorOptions o;
    o.sched_ext = sysfs();
    o.kmsg = kmsg();
    o.sysrq_trigger = root() / "sysrq-trigger";
    o.tracing = root() / "tracing";
    o.mount_tracefs = false;
    o.poll_interval = milliseconds(5);
    o.settle = milliseconds(5000);
    return o;
  }
  SchedulerSpec spec(const std::string& mode) const {
    SchedulerSpec s;
    s.binary = script().string();
    s.args = {sysfs().string(), kmsg().string(), mode, root().string()};
    s.ops_name = "fake";
    s.attach_timeout_ms = 20000;
    return s;
  }

  Frames frames() {
    Frames out;
    auto bytes = read_file(root() / "frames");
    EXPECT_TRUE(bytes.ok());
    if (!bytes.ok()) return out;
    wire::Assembler a;
    for (auto& f : a.feed({reinterpret_cast<const uint8_t*>(bytes->data()), bytes->size()})) {
      EXPECT_TRUE(f.crc_ok);
      if (f.msg_type == static_cast<uint32_t>(wire::MsgType::kSchedLog)) {
        out.sched_log.append(f.payload.begin(), f.payload.end());
      } else if (f.msg_type == static_cast<uint32_t>(wire::MsgType::kSchedExit)) {
        auto m = wire::decode_sched_exit(f.payload);
        EXPECT_TRUE(m.ok());
        if (m.ok()) out.exits.push_back(*m);
      } else {
        ++out.other;
      }
    }
    EXPECT_EQ(a.buffered(), 0u);
    return out;
  }

  // Polls check() as the engine's should_stop hook would.
  static std::optional<DeathInfo> wait_for_death(SchedulerSupervisor& s) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (auto d = s.check()) return d;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return std::nullopt;
  }

  static bool alive(pid_t pid) { return ::kill(pid, 0) == 0; }

  TempDir dir_;
  UniqueFd frames_fd_;
  std::unique_ptr<FrameSink> sink_;
};

TEST_F(Supervisor, AttachesRunsAndStopsCleanly) {
  SchedulerSupervisor sup(options());
  auto info = sup.start(spec("run"), *sink_);
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_GT(info->pid, 0);
  EXPECT_EQ(info->pid, sup.pid());
  EXPECT_EQ(info->ops, "fake");
  EXPECT_TRUE(info->switch_all);
  EXPECT_NE(info->watchdog.find("ops.timeout_ms"), std::string::npos);
  EXPECT_FALSE(sup.check());
  EXPECT_FALSE(sup.check());

  StopInfo st = sup.stop(std::chrono::seconds(10));
  EXPECT_TRUE(st.was_running);
  EXPECT_FALSE(st.killed);
  ASSERT_TRUE(st.process);
  EXPECT_TRUE(st.process->success()) << st.process->describe();
  EXPECT_TRUE(st.disabled);
  EXPECT_EQ(st.state, "disabled");
  EXPECT_FALSE(alive(info->pid));
  EXPECT_FALSE(sup.check()) << "a stop is not a death";
  EXPECT_EQ(sup.stop().stop_ms, st.stop_ms) << "stop is idempotent";

  Frames f = frames();
  EXPECT_NE(f.sched_log.find("fake: loading\n"), std::string::npos) << f.sched_log;
  EXPECT_NE(f.sched_log.find("fake: a warning\n"), std::string::npos) << f.sched_log;
  EXPECT_NE(f.sched_log.find("fake: bye\n"), std::string::npos) << f.sched_log;
  EXPECT_TRUE(f.exits.empty());
  EXPECT_EQ(f.other, 0u);
  auto tail = sup.log_tail();
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail.back(), "fake: bye");
}

TEST_F(Supervisor, ProcessDyingBeforeAttachIsAnError) {
  SchedulerSupervisor sup(options());
  auto info = sup.start(spec("die"), *sink_);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code(), Errc::kFailed);
  const std::string m = info.error().message();
  EXPECT_EQ(m.rfind("scheduler did not attach: process exit code 1; last output: ", 0), 0u) << m;
  EXPECT_NE(m.find("'fake: cannot load BPF program'"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
  EXPECT_FALSE(sup.check());
  EXPECT_NE(frames().sched_log.find("cannot load BPF program"), std::string::npos);
  EXPECT_TRUE(frames().exits.empty()) << "attach failures are the caller's to report";
}

TEST_F(Supervisor, AttachTimeoutKillsTheProcess) {
  SchedulerSupervisor sup(options());
  auto s = spec("never");
  s.attach_timeout_ms = 200;
  auto info = sup.start(s, *sink_);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code(), Errc::kTimeout);
  EXPECT_NE(info.error().message().find("state stayed 'disabled' after 200 ms"), std::string::npos)
      << info.error().message();
  ASSERT_GT(sup.pid(), 0);
  EXPECT_FALSE(alive(sup.pid()));
}

TEST_F(Supervisor, WrongOpsNameIsReported) {
  SchedulerSupervisor sup(options());
  auto s = spec("wrongops");
  s.attach_timeout_ms = 300;
  auto info = sup.start(s, *sink_);
  ASSERT_FALSE(info.ok());
  EXPECT_NE(info.error().message().find("root/ops reads 'other', expected 'fake' after 300 ms"),
            std::string::npos)
      << info.error().message();
}

TEST_F(Supervisor, AnyOpsNameWhenNoneIsExpected) {
  SchedulerSupervisor sup(options());
  auto s = spec("wrongops");
  s.ops_name.clear();
  auto info = sup.start(s, *sink_);
  ASSERT_TRUE(info.ok()) << info.error().message();
  EXPECT_EQ(info->ops, "other");
}

TEST_F(Supervisor, StallIsAnEjectionWithTheKernelsReason) {
  SchedulerSupervisor sup(options());
  ASSERT_TRUE(sup.start(spec("stall"), *sink_).ok());
  EXPECT_FALSE(sup.check());
  go();
  auto d = wait_for_death(sup);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, DeathKind::kEjectedByKernel);
  EXPECT_EQ(d->exit_kind, sx::kExitErrorStall);
  EXPECT_EQ(d->reason, "runnable task stall (kworker/0:1[12] failed to run for 6.024s)");
  EXPECT_EQ(d->state, "disabled");
  ASSERT_TRUE(d->process) << "the settle waits for the process's last words";
  EXPECT_TRUE(d->process->success());
  EXPECT_EQ(d->dmesg_excerpt,
            "[    2.000000] sched_ext: BPF scheduler \"fake\" enabled\n"
            "[    3.000000] sched_ext: BPF scheduler \"fake\" disabled (runnable task stall)\n"
            "[    3.000001] sched_ext: fake: kworker/0:1[12] failed to run for 6.024s\n"
            "[    3.000002]   scx_watchdog_workfn+0x154/0x1e0\n");
  ASSERT_FALSE(d->log_tail.empty());
  EXPECT_EQ(d->log_tail.back(), "EXIT: runnable task stall (kworker/0:1[12] failed to run for 6.024s)");
  const std::string text = d->to_text();
  EXPECT_NE(text.find("scheduler died: ejected by kernel: runnable task stall"), std::string::npos)
      << text;
  EXPECT_NE(text.find("exit kind 1026 (runnable task stall)"), std::string::npos) << text;

  // Every later check() returns the same death; SCHED_EXIT went out once.
  auto again = sup.check();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->reason, d->reason);
  Frames f = frames();
  ASSERT_EQ(f.exits.size(), 1u);
  EXPECT_EQ(f.exits[0].exit_kind, sx::kExitErrorStall);
  EXPECT_EQ(f.exits[0].reason,
            "ejected by kernel: runnable task stall (kworker/0:1[12] failed to run for 6.024s)");
  EXPECT_NE(f.sched_log.find("EXIT: runnable task stall"), std::string::npos);

  StopInfo st = sup.stop(std::chrono::seconds(5));
  EXPECT_FALSE(st.was_running);
  EXPECT_TRUE(st.disabled);
  EXPECT_EQ(frames().exits.size(), 1u);
}

TEST_F(Supervisor, ProcessExitWithItsStatusAndTheKernelsWord) {
  SchedulerSupervisor sup(options());
  ASSERT_TRUE(sup.start(spec("exit"), *sink_).ok());
  go();
  auto d = wait_for_death(sup);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, DeathKind::kProcessExited);
  EXPECT_EQ(d->exit_kind, sx::kExitUnreg);
  EXPECT_EQ(d->reason, "exit code 3 (kernel: unregistered from user space)");
  ASSERT_TRUE(d->process);
  EXPECT_EQ(d->process->code, 3);
  EXPECT_EQ(d->log_tail.back(), "fake: exiting with 3");
  ASSERT_EQ(frames().exits.size(), 1u);
  EXPECT_EQ(frames().exits[0].reason, "process exited: exit code 3 (kernel: unregistered from user space)");
}

TEST_F(Supervisor, ProcessExitWithoutKernelMessage) {
  auto o = options();
  o.settle = milliseconds(300);
  o.kmsg = root() / "no-kmsg";  // an unreadable kernel log must not matter
  SchedulerSupervisor sup(o);
  ASSERT_TRUE(sup.start(spec("silent_exit"), *sink_).ok());
  go();
  auto d = wait_for_death(sup);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, DeathKind::kProcessExited);
  EXPECT_EQ(d->exit_kind, sx::kExitProcessDied);
  EXPECT_EQ(d->reason, "exit code 5; sched_ext state enabled");
  EXPECT_TRUE(d->dmesg_excerpt.empty());
}

TEST_F(Supervisor, BpfRequestedExit) {
  auto o = options();
  o.settle = milliseconds(200);  // the process lives on: the settle runs out
  SchedulerSupervisor sup(o);
  ASSERT_TRUE(sup.start(spec("bpf_exit"), *sink_).ok());
  go();
  auto d = wait_for_death(sup);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, DeathKind::kSchedulerExited);
  EXPECT_EQ(d->exit_kind, sx::kExitUnregBpf);
  EXPECT_EQ(d->reason, "unregistered from BPF (done (really) now)") << "message from its output";
  EXPECT_FALSE(d->process) << "the process still runs";
  StopInfo st = sup.stop(std::chrono::seconds(10));
  EXPECT_TRUE(st.was_running);
}

TEST_F(Supervisor, StateLostWhileTheProcessLives) {
  auto o = options();
  o.settle = milliseconds(200);
  SchedulerSupervisor sup(o);
  ASSERT_TRUE(sup.start(spec("run"), *sink_).ok());
  ASSERT_TRUE(write_file(sysfs() / "state", "disabled\n").ok());
  auto d = wait_for_death(sup);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, DeathKind::kEjectedByKernel);
  EXPECT_EQ(d->exit_kind, sx::kExitStateLost);
  EXPECT_EQ(d->reason, "sched_ext state became disabled with no kernel message");
  EXPECT_TRUE(sup.stop(std::chrono::seconds(10)).was_running);
}

TEST_F(Supervisor, ReapedElsewhereStillCountsAsExited) {
  SchedulerSupervisor sup(options());
  ASSERT_TRUE(sup.start(spec("exit"), *sink_).ok());
  go();
  ASSERT_EQ(::waitpid(sup.pid(), nullptr, 0), sup.pid());  // PID 1's reaper got there first
  auto d = wait_for_death(sup);
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->process);
  EXPECT_EQ(d->reason, "exited (status collected elsewhere) (kernel: unregistered from user space)");
}

TEST_F(Supervisor, StopEscalatesToSigkillAndReportsTheState) {
  SchedulerSupervisor sup(options());
  ASSERT_TRUE(sup.start(spec("stubborn"), *sink_).ok());
  StopInfo st = sup.stop(milliseconds(400));
  EXPECT_TRUE(st.was_running);
  EXPECT_TRUE(st.killed);
  ASSERT_TRUE(st.process);
  EXPECT_TRUE(st.process->signaled);
  EXPECT_EQ(st.process->signal, SIGKILL);
  EXPECT_FALSE(st.disabled) << "the fake kernel never disables";
  EXPECT_EQ(st.state, "enabled");
}

TEST_F(Supervisor, DestructorStopsARunningScheduler) {
  pid_t pid;
  {
    SchedulerSupervisor sup(options());
    ASSERT_TRUE(sup.start(spec("run"), *sink_).ok());
    pid = sup.pid();
    EXPECT_TRUE(alive(pid));
  }
  EXPECT_FALSE(alive(pid));
}

TEST_F(Supervisor, RefusesWithoutSchedExtOrWhenTaken) {
  auto o = options();
  o.sched_ext = root() / "absent";
  SchedulerSupervisor none(o);
  auto r = none.start(spec("run"), *sink_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kUnavailable);
  EXPECT_NE(r.error().message().find("CONFIG_SCHED_CLASS_EXT"), std::string::npos);

  ASSERT_TRUE(write_file(sysfs() / "state", "enabled\n").ok());
  fs::create_directories(sysfs() / "root");
  ASSERT_TRUE(write_file(sysfs() / "root/ops", "simple\n").ok());
  SchedulerSupervisor taken(options());
  auto t = taken.start(spec("run"), *sink_);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("already loaded (state 'enabled', ops 'simple')"),
            std::string::npos)
      << t.error().message();
}

TEST_F(Supervisor, BadBinaryAndSecondStart) {
  SchedulerSupervisor sup(options());
  auto s = spec("run");
  s.binary = (root() / "missing").string();
  auto r = sup.start(s, *sink_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("cannot run " + s.binary), std::string::npos)
      << r.error().message();

  SchedulerSupervisor once(options());
  ASSERT_TRUE(once.start(spec("run"), *sink_).ok());
  auto twice = once.start(spec("run"), *sink_);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message().find("already used"), std::string::npos);
}

TEST_F(Supervisor, DebugDumpReadsSysfsAndDrivesTheTracepoint) {
  SchedulerSupervisor sup(options());
  ASSERT_TRUE(sup.start(spec("run"), *sink_).ok());
  ASSERT_TRUE(write_file(sysfs() / "root/events", "SCX_EV_SELECT_CPU_FALLBACK 3\n").ok());

  std::string no_trace = sup.debug_dump();
  EXPECT_NE(no_trace.find("state: enabled\n"), std::string::npos) << no_trace;
  EXPECT_NE(no_trace.find("root/ops: fake\n"), std::string::npos) << no_trace;
  EXPECT_NE(no_trace.find("nr_rejected: (unreadable)\n"), std::string::npos) << no_trace;
  EXPECT_NE(no_trace.find("root/events:\n  SCX_EV_SELECT_CPU_FALLBACK 3\n"), std::string::npos)
      << no_trace;
  EXPECT_NE(no_trace.find("(unavailable: no "), std::string::npos) << no_trace;

  const fs::path ev = root() / "tracing/events/sched_ext/sched_ext_dump";
  fs::create_directories(ev);
  ASSERT_TRUE(write_file(ev / "enable", "0\n").ok());
  ASSERT_TRUE(write_file(root() / "tracing/trace", "old: sched_ext_dump: stale line\n").ok());
  std::string dump = sup.debug_dump();
  EXPECT_NE(dump.find("== sysrq-D dump"), std::string::npos) << dump;
  EXPECT_NE(dump.find("(the dump was empty)"), std::string::npos) << "the trace was cleared first";
  EXPECT_EQ(*read_file(root() / "sysrq-trigger"), "D");
  EXPECT_EQ(*read_file(ev / "enable"), "0");
  (void)sup.stop(std::chrono::seconds(10));

  std::string after = sup.debug_dump();
  EXPECT_NE(after.find("state: disabled\n"), std::string::npos);
  EXPECT_EQ(after.find("sysrq-D"), std::string::npos) << "nothing loaded, nothing to dump";
}

}  // namespace
}  // namespace ktstr::guest
