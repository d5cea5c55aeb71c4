// WorkerSet lifecycle: two-phase start, stop, kill, destruction, knobs.
#include "workload/worker.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "test_util.h"
#include "util/temp_dir.h"

namespace ktstr::workload {
namespace {

using namespace std::chrono_literals;
using testing::expect_sane;
using testing::process_gone;
using testing::run_until_progress;

WorkerOptions options(WorkType t, uint32_t count) {
  WorkerOptions o;
  o.cgroup = "test";
  o.spec = default_spec(t);
  o.count = count;
  return o;
}

std::vector<uint32_t> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<uint32_t> out;
  if (::sched_getaffinity(0, sizeof set, &set) == 0)
    for (uint32_t c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) out.push_back(c);
  return out;
}

TEST(WorkerSet, NoWorkBeforeStart) {
  auto set = WorkerSet::spawn(options(WorkType::kCpuSpin, 2));
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_FALSE(set->started());
  // The issue asks for exactly this: give unreleased workers time to misbehave.
  std::this_thread::sleep_for(200ms);
  for (const auto& p : set->progress()) EXPECT_EQ(p.iterations, 0u);
  for (pid_t pid : set->pids()) {
    const long long utime = testing::proc_stat_field(pid, 14);
    EXPECT_GE(utime, 0);
    EXPECT_LE(utime, 5) << "a held worker burned CPU";  // clock ticks
    EXPECT_EQ(testing::proc_stat_field(pid, 3), 'S');   // sleeping on the start pipe
  }
  ASSERT_TRUE(set->stop(5s).ok());
  ASSERT_EQ(set->reports().size(), 2u);
  for (const auto& r : set->reports()) {
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.iterations, 0u);
    EXPECT_EQ(r.work_units, 0u);
    EXPECT_EQ(r.cgroup, "test");
  }
  EXPECT_FALSE(set->start().ok());  // stopped sets cannot start
}

TEST(WorkerSet, RunsAfterStartAndReportsIdentity) {
  auto o = options(WorkType::kCpuSpin, 3);
  o.first_index = 10;
  auto set = WorkerSet::spawn(o);
  ASSERT_TRUE(set.ok()) << set.error().message();
  ASSERT_EQ(set->size(), 3u);
  ASSERT_TRUE(set->start().ok());
  EXPECT_FALSE(set->start().ok());  // only once
  ASSERT_TRUE(run_until_progress(*set, 100ms));
  ASSERT_TRUE(set->stop(5s).ok());
  EXPECT_TRUE(set->stop(5s).ok());  // idempotent
  const auto pids = set->pids();
  ASSERT_EQ(set->reports().size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto& r = set->reports()[i];
    expect_sane(r);
    EXPECT_EQ(r.index, 10 + i);
    EXPECT_EQ(r.pid, pids[i]);
    EXPECT_EQ(r.work_type, "cpu-spin");
    EXPECT_EQ(r.role, "solo");
    EXPECT_GT(r.cpu_time_ns, 0u);
    EXPECT_EQ(r.work_units, r.iterations);
  }
  for (pid_t pid : pids) EXPECT_TRUE(process_gone(pid));
}

TEST(WorkerSet, PlaceIsCalledForEveryWorkerBeforeStart) {
  std::vector<pid_t> placed;
  auto o = options(WorkType::kYieldHeavy, 3);
  o.place = [&](pid_t pid) -> Status {
    placed.push_back(pid);
    return {};
  };
  auto set = WorkerSet::spawn(o);
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_EQ(placed, set->pids());
  for (const auto& p : set->progress()) EXPECT_EQ(p.iterations, 0u);
}

TEST(WorkerSet, PlaceFailureFailsSpawnAndLeavesNoProcesses) {
  std::vector<pid_t> placed;
  auto o = options(WorkType::kCpuSpin, 2);
  o.place = [&](pid_t pid) -> Status {
    placed.push_back(pid);
    return io_error("cannot write cgroup.procs");
  };
  auto set = WorkerSet::spawn(o);
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.error().message().find("placing worker 0"), std::string::npos);
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_TRUE(process_gone(placed[0]));
}

TEST(WorkerSet, DestructorKillsAndReapsEverything) {
  std::vector<pid_t> pids;
  {
    auto set = WorkerSet::spawn(options(WorkType::kFutexPingPong, 4));
    ASSERT_TRUE(set.ok()) << set.error().message();
    ASSERT_TRUE(set->start().ok());
    pids = set->pids();
    ASSERT_TRUE(run_until_progress(*set, 0ms));
  }
  ASSERT_EQ(pids.size(), 4u);
  for (pid_t pid : pids) EXPECT_TRUE(process_gone(pid)) << pid;

  {  // never started, one frozen
    auto set = WorkerSet::spawn(options(WorkType::kCpuSpin, 2));
    ASSERT_TRUE(set.ok());
    pids = set->pids();
    ASSERT_TRUE(set->freeze_worker(1).ok());
  }
  for (pid_t pid : pids) EXPECT_TRUE(process_gone(pid)) << pid;
}

TEST(WorkerSet, MovedSetKeepsOwnership) {
  auto set = WorkerSet::spawn(options(WorkType::kCpuSpin, 1));
  ASSERT_TRUE(set.ok());
  WorkerSet moved = std::move(*set);
  ASSERT_EQ(moved.size(), 1u);
  ASSERT_TRUE(moved.start().ok());
  ASSERT_TRUE(run_until_progress(moved, 0ms));
  ASSERT_TRUE(moved.stop(5s).ok());
  expect_sane(moved.reports()[0]);
}

TEST(WorkerSet, SignalStopLetsSeveralSetsStopTogether) {
  auto a = WorkerSet::spawn(options(WorkType::kCpuSpin, 2));
  auto b = WorkerSet::spawn(options(WorkType::kYieldHeavy, 2));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a->start().ok() && b->start().ok());
  ASSERT_TRUE(run_until_progress(*a, 0ms) && run_until_progress(*b, 0ms));
  a->signal_stop();
  b->signal_stop();
  b->signal_stop();  // idempotent
  // Signalled workers report and exit on their own (zombies until stop()).
  for (auto* set : {&*a, &*b})
    for (pid_t pid : set->pids()) {
      const auto deadline = std::chrono::steady_clock::now() + 20s;
      while (testing::proc_stat_field(pid, 3) != 'Z' && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
      EXPECT_EQ(testing::proc_stat_field(pid, 3), 'Z') << pid;
    }
  ASSERT_TRUE(a->stop(5s).ok());
  ASSERT_TRUE(b->stop(5s).ok());
  for (auto* set : {&*a, &*b})
    for (const auto& r : set->reports()) expect_sane(r);
}

TEST(WorkerSet, LargeReportsAreReadWhileWorkersWrite) {
  // Thousands of wake-latency samples make reports larger than a pipe buffer.
  auto set = WorkerSet::spawn(options(WorkType::kFutexPingPong, 2));
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(set->start().ok());
  ASSERT_TRUE(run_until_progress(*set, 0ms, 50'000, 60s));
  ASSERT_TRUE(set->stop(10s).ok());
  uint64_t samples = 0;
  for (const auto& r : set->reports()) {
    expect_sane(r);
    samples += r.wake_latency_ns.size();
  }
  EXPECT_GT(samples, 0u);
}

TEST(WorkerSet, KilledWorkerYieldsAnErrorReport) {
  auto set = WorkerSet::spawn(options(WorkType::kCpuSpin, 2));
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(set->start().ok());
  ASSERT_TRUE(run_until_progress(*set, 0ms));
  ASSERT_EQ(::kill(set->pids()[0], SIGKILL), 0);
  ASSERT_TRUE(set->stop(5s).ok());
  const auto& r = set->reports();
  EXPECT_NE(r[0].error.find("killed by signal 9"), std::string::npos) << r[0].error;
  EXPECT_EQ(r[0].pid, set->pids()[0]);
  EXPECT_EQ(r[0].work_type, "cpu-spin");
  expect_sane(r[1]);
}

TEST(WorkerSet, StragglerIsKilledAfterGrace) {
  auto set = WorkerSet::spawn(options(WorkType::kCpuSpin, 2));
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(set->start().ok());
  ASSERT_TRUE(run_until_progress(*set, 0ms));
  // Stopped behind stop()'s back: it cannot see the stop signal.
  ASSERT_EQ(::kill(set->pids()[1], SIGSTOP), 0);
  ASSERT_TRUE(set->stop(300ms).ok());
  const auto& r = set->reports();
  expect_sane(r[0]);
  EXPECT_NE(r[1].error.find("did not stop within 300 ms"), std::string::npos) << r[1].error;
  for (pid_t pid : set->pids()) EXPECT_TRUE(process_gone(pid));
}

TEST(WorkerSet, FrozenWorkerIsThawedByStopAndShowsTheGap) {
  auto set = WorkerSet::spawn(options(WorkType::kCpuSpin, 1));
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(set->start().ok());
  ASSERT_TRUE(run_until_progress(*set, 0ms));
  ASSERT_TRUE(set->freeze_worker(0).ok());
  const pid_t pid = set->pids()[0];
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (testing::proc_stat_field(pid, 3) != 'T' && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(testing::proc_stat_field(pid, 3), 'T');
  const uint64_t frozen_at = set->progress()[0].iterations;
  std::this_thread::sleep_for(150ms);  // the stall being injected
  EXPECT_EQ(set->progress()[0].iterations, frozen_at);
  ASSERT_TRUE(set->thaw_worker(0).ok());
  ASSERT_TRUE(run_until_progress(*set, 0ms, frozen_at + 1));
  ASSERT_TRUE(set->freeze_worker(0).ok());  // frozen again at stop: stop thaws it
  ASSERT_TRUE(set->stop(5s).ok());
  const auto& r = set->reports()[0];
  expect_sane(r);
  EXPECT_GE(r.max_gap_ns, 150'000'000u);
  EXPECT_FALSE(set->freeze_worker(0).ok());
  EXPECT_FALSE(set->freeze_worker(5).ok());
}

TEST(WorkerSet, AffinityRestrictsCpusUsed) {
  const auto cpus = allowed_cpus();
  if (cpus.empty() || cpus[0] != 0) GTEST_SKIP() << "CPU 0 not available";
  auto o = options(WorkType::kCpuSpin, 2);
  o.affinity = {{0}};
  auto set = WorkerSet::spawn(o);
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(set->start().ok());
  ASSERT_TRUE(run_until_progress(*set, 200ms, 10));
  ASSERT_TRUE(set->stop(5s).ok());
  for (const auto& r : set->reports()) {
    expect_sane(r);
    EXPECT_EQ(r.cpus_used, std::vector<uint32_t>{0});
    EXPECT_EQ(r.migrations, 0u);
  }
}

TEST(WorkerSet, PerWorkerAffinity) {
  const auto cpus = allowed_cpus();
  if (cpus.size() < 2) GTEST_SKIP() << "needs 2 CPUs";
  auto o = options(WorkType::kCpuSpin, 2);
  o.affinity = {{cpus[0]}, {cpus[1]}};
  auto set = WorkerSet::spawn(o);
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(set->start().ok());
  ASSERT_TRUE(run_until_progress(*set, 100ms, 10));
  ASSERT_TRUE(set->stop(5s).ok());
  EXPECT_EQ(set->reports()[0].cpus_used, std::vector<uint32_t>{cpus[0]});
  EXPECT_EQ(set->reports()[1].cpus_used, std::vector<uint32_t>{cpus[1]});
}

TEST(WorkerSet, PolicyAndNiceAreAppliedAtStart) {
  auto o = options(WorkType::kYieldHeavy, 2);
  o.policy = {Policy::Kind::kBatch, 0};
  o.nice = 5;
  auto set = WorkerSet::spawn(o);
  ASSERT_TRUE(set.ok());
  for (pid_t pid : set->pids()) EXPECT_NE(::sched_getscheduler(pid), SCHED_BATCH);
  ASSERT_TRUE(set->start().ok());
  for (pid_t pid : set->pids()) {
    EXPECT_EQ(::sched_getscheduler(pid), SCHED_BATCH);
    EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(pid)), 5);
  }
}

TEST(WorkerSet, BadAffinityFailsStartWithTheWorkerNamed) {
  auto o = options(WorkType::kCpuSpin, 1);
  o.affinity = {{4000}};
  auto set = WorkerSet::spawn(o);
  ASSERT_TRUE(set.ok());
  auto st = set->start();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("worker 0"), std::string::npos) << st.error().message();
  for (const auto& p : set->progress()) EXPECT_EQ(p.iterations, 0u);
}

TEST(WorkerSet, RejectsBadOptions) {
  auto o = options(WorkType::kCpuSpin, 0);
  EXPECT_FALSE(WorkerSet::spawn(o).ok());
  o.count = 1;
  o.nice = 25;
  EXPECT_FALSE(WorkerSet::spawn(o).ok());
  o.nice = 0;
  o.affinity = {{}};
  EXPECT_FALSE(WorkerSet::spawn(o).ok());
  o.affinity = {};
  o.policy = {Policy::Kind::kFifo, 0};
  EXPECT_FALSE(WorkerSet::spawn(o).ok());
  o = options(WorkType::kCachePressure, 1);
  o.spec.stride = 0;
  auto r = WorkerSet::spawn(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("stride"), std::string::npos);
}

TEST(WorkerSet, SetupErrorFailsSpawn) {
  auto o = options(WorkType::kIoSync, 2);
  o.io_dir = "/nonexistent/ktstr-dir";
  auto set = WorkerSet::spawn(o);
  ASSERT_FALSE(set.ok());
  const std::string msg = set.error().message();
  EXPECT_NE(msg.find("/nonexistent/ktstr-dir"), std::string::npos) << msg;
  EXPECT_NE(msg.find("worker 0"), std::string::npos) << msg;
}

TEST(WorkerSet, IoSyncWritesIntoIoDirAndLeavesNoFileBehind) {
  auto dir = TempDir::create("ktstr-wl-io-");
  ASSERT_TRUE(dir.ok());
  auto o = options(WorkType::kIoSync, 2);
  o.io_dir = dir->path().string();
  auto set = WorkerSet::spawn(o);
  ASSERT_TRUE(set.ok()) << set.error().message();
  ASSERT_TRUE(set->start().ok());
  ASSERT_TRUE(run_until_progress(*set, 50ms, 3));
  // The files are unlinked at creation but open: visible as deleted fds.
  const std::string fd_dir = "/proc/" + std::to_string(set->pids()[0]) + "/fd";
  bool found = false;
  for (const auto& e : std::filesystem::directory_iterator(fd_dir)) {
    std::error_code ec;
    auto target = std::filesystem::read_symlink(e.path(), ec).string();
    found = found || target.find(dir->path().string() + "/ktstr-io-") == 0;
  }
  EXPECT_TRUE(found);
  ASSERT_TRUE(set->stop(5s).ok());
  for (const auto& r : set->reports()) expect_sane(r);
  EXPECT_TRUE(std::filesystem::is_empty(dir->path()));
}

}  // namespace
}  // namespace ktstr::workload
