// Every work type really does its work, grouped types find their partners,
// blocking types sample wake latency and none of them hangs on stop.
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include <gtest/gtest.h>

#include "test_util.h"
#include "workload/worker.h"

namespace ktstr::workload {
namespace {

using namespace std::chrono_literals;
using testing::expect_sane;
using testing::run_until_progress;

Result<WorkerSet> start_set(WorkType t, uint32_t count, WorkerOptions o = {}) {
  o.cgroup = "types";
  o.spec = default_spec(t);
  o.count = count;
  KTSTR_ASSIGN(auto set, WorkerSet::spawn(o));
  KTSTR_TRY(set.start());
  return set;
}

class EveryType : public ::testing::TestWithParam<WorkType> {};

TEST_P(EveryType, RunsAndReportsRealWork) {
  const WorkType t = GetParam();
  const uint32_t count = 1 + static_cast<uint32_t>(t) % 4;  // 1..4 across the types
  auto set = start_set(t, count);
  ASSERT_TRUE(set.ok()) << set.error().message();
  const WorkerPlan& plan = set->plan();
  EXPECT_EQ(set->size(), plan.count());
  EXPECT_GE(set->size(), count);
  ASSERT_TRUE(run_until_progress(*set, 300ms)) << "a worker made no progress in 30 s";
  ASSERT_TRUE(set->stop(5s).ok());
  ASSERT_EQ(set->reports().size(), set->size());
  for (size_t i = 0; i < set->size(); ++i) {
    const auto& r = set->reports()[i];
    expect_sane(r);
    EXPECT_EQ(r.work_type, to_string(t));
    EXPECT_EQ(r.group, plan.slots[i].group);
    EXPECT_EQ(r.role, to_string(plan.slots[i].role));
    EXPECT_TRUE(r.numa_pages.empty());  // default memory policy
  }
}

INSTANTIATE_TEST_SUITE_P(Workload, EveryType, ::testing::ValuesIn(all_work_types()),
                         [](const auto& info) {
                           std::string n(to_string(info.param));
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(WorkTypes, FutexPingPongFormsPairs) {
  auto set = start_set(WorkType::kFutexPingPong, 4);
  ASSERT_TRUE(set.ok()) << set.error().message();
  ASSERT_EQ(set->size(), 4u);
  EXPECT_TRUE(set->notes().empty());
  ASSERT_TRUE(run_until_progress(*set, 100ms, 20));
  ASSERT_TRUE(set->stop(5s).ok());
  const auto& r = set->reports();
  const std::vector<std::pair<uint32_t, std::string>> expected = {
      {0, "ping"}, {0, "pong"}, {1, "ping"}, {1, "pong"}};
  for (size_t i = 0; i < 4; ++i) {
    expect_sane(r[i]);
    EXPECT_EQ(r[i].group, expected[i].first);
    EXPECT_EQ(r[i].role, expected[i].second);
  }
  // Strict alternation: partners' turn counts differ by at most one.
  for (size_t i = 0; i < 4; i += 2) {
    const auto a = r[i].work_units, b = r[i + 1].work_units;
    EXPECT_LE(a > b ? a - b : b - a, 1u);
  }
}

TEST(WorkTypes, OddPairCountIsRoundedUpWithANote) {
  auto set = start_set(WorkType::kPipeIo, 3);
  ASSERT_TRUE(set.ok()) << set.error().message();
  EXPECT_EQ(set->size(), 4u);
  ASSERT_EQ(set->notes().size(), 1u);
  ASSERT_TRUE(run_until_progress(*set, 0ms, 5));
  ASSERT_TRUE(set->stop(5s).ok());
  for (const auto& r : set->reports()) expect_sane(r);
}

TEST(WorkTypes, FanOutGroupsHaveOneLeader) {
  WorkerOptions o;
  auto set = start_set(WorkType::kFutexFanOut, 7, o);  // 5 + 2
  ASSERT_TRUE(set.ok()) << set.error().message();
  ASSERT_EQ(set->size(), 7u);
  ASSERT_TRUE(run_until_progress(*set, 100ms, 5));
  ASSERT_TRUE(set->stop(5s).ok());
  const auto& r = set->reports();
  EXPECT_EQ(r[0].role, "waker");
  EXPECT_EQ(r[5].role, "waker");
  EXPECT_EQ(r[6].role, "waiter");
  EXPECT_EQ(r[6].group, 1u);
  // Rounds are acknowledged by every waiter before the next one.
  for (size_t i = 1; i < 5; ++i) {
    expect_sane(r[i]);
    EXPECT_LE(r[i].work_units, r[0].work_units + 1);
    EXPECT_GE(r[i].work_units + 1, r[0].work_units);
  }
}

TEST(WorkTypes, BlockingTypesRecordWakeLatency) {
  for (WorkType t : all_work_types()) {
    const WorkSpec spec = default_spec(t);
    if (!spec.records_wake_latency()) continue;
    SCOPED_TRACE(std::string(to_string(t)));
    auto set = start_set(t, spec.group_size());
    ASSERT_TRUE(set.ok()) << set.error().message();
    ASSERT_TRUE(run_until_progress(*set, 50ms, 20));
    ASSERT_TRUE(set->stop(5s).ok());
    // Which side sleeps depends on wakeup preemption (on one CPU the woken
    // partner may run before the waker blocks), so the group as a whole must
    // have slept and been woken.
    uint64_t group_samples = 0;
    for (const auto& r : set->reports()) {
      expect_sane(r);
      group_samples += r.wake_samples_seen;
      if (r.role == "waker" || r.role == "producer") {
        EXPECT_EQ(r.wake_samples_seen, 0u);
      }
      for (uint64_t ns : r.wake_latency_ns) EXPECT_LT(ns, 60'000'000'000ULL);
    }
    EXPECT_GT(group_samples, 0u);
  }
}

TEST(WorkTypes, NonBlockingTypesRecordNoWakeLatency) {
  auto set = start_set(WorkType::kYieldHeavy, 1);
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(run_until_progress(*set, 0ms, 10));
  ASSERT_TRUE(set->stop(5s).ok());
  EXPECT_EQ(set->reports()[0].wake_samples_seen, 0u);
}

// A partner stopped behind stop()'s back must not keep the others from
// stopping and reporting.
TEST(WorkTypes, StopWorksWithAStoppedPartner) {
  for (WorkType t :
       {WorkType::kPipeIo, WorkType::kCachePipe, WorkType::kFutexPingPong, WorkType::kFutexFanOut,
        WorkType::kFanOutCompute, WorkType::kMutexContention}) {
    for (size_t victim : {size_t{0}, size_t{1}}) {
      SCOPED_TRACE(std::string(to_string(t)) + " victim " + std::to_string(victim));
      auto set = start_set(t, default_spec(t).group_size());
      ASSERT_TRUE(set.ok()) << set.error().message();
      ASSERT_TRUE(run_until_progress(*set, 0ms, 2));
      const pid_t pid = set->pids()[victim];
      ASSERT_EQ(::kill(pid, SIGSTOP), 0);
      const auto deadline = std::chrono::steady_clock::now() + 10s;
      while (testing::proc_stat_field(pid, 3) != 'T' && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
      const auto t0 = std::chrono::steady_clock::now();
      ASSERT_TRUE(set->stop(500ms).ok());
      EXPECT_LT(std::chrono::steady_clock::now() - t0, 20s);
      const auto& r = set->reports();
      for (size_t i = 0; i < r.size(); ++i) {
        if (i == victim) {
          EXPECT_NE(r[i].error.find("did not stop"), std::string::npos) << r[i].error;
        } else {
          EXPECT_EQ(r[i].error, "") << "worker " << i;
          EXPECT_GT(r[i].iterations, 0u) << "worker " << i;
        }
      }
    }
  }
}

TEST(WorkTypes, AffinityChurnMovesAcrossAllowedCpus) {
  cpu_set_t set_mask;
  CPU_ZERO(&set_mask);
  ASSERT_EQ(::sched_getaffinity(0, sizeof set_mask, &set_mask), 0);
  if (CPU_COUNT(&set_mask) < 2) GTEST_SKIP() << "needs 2 CPUs";
  auto set = start_set(WorkType::kAffinityChurn, 1);
  ASSERT_TRUE(set.ok());
  ASSERT_TRUE(run_until_progress(*set, 50ms, 100));
  ASSERT_TRUE(set->stop(5s).ok());
  const auto& r = set->reports()[0];
  expect_sane(r);
  EXPECT_GE(r.cpus_used.size(), 2u);
  EXPECT_GT(r.migrations, 0u);
  for (uint32_t c : r.cpus_used) EXPECT_TRUE(CPU_ISSET(c, &set_mask));
}

// Samples a property of a running worker until `want` distinct values were seen.
template <typename F>
std::set<int> observe(pid_t pid, F read, size_t want) {
  std::set<int> seen;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (seen.size() < want && std::chrono::steady_clock::now() < deadline) {
    seen.insert(read(pid));
    std::this_thread::sleep_for(200us);
  }
  return seen;
}

TEST(WorkTypes, PolicyChurnCyclesPolicies) {
  auto set = start_set(WorkType::kPolicyChurn, 1);
  ASSERT_TRUE(set.ok());
  auto seen = observe(
      set->pids()[0], [](pid_t p) { return ::sched_getscheduler(p); }, 3);
  EXPECT_TRUE(seen.count(SCHED_OTHER));
  EXPECT_TRUE(seen.count(SCHED_BATCH));
  EXPECT_TRUE(seen.count(SCHED_IDLE));
  ASSERT_TRUE(set->stop(5s).ok());
  expect_sane(set->reports()[0]);
}

TEST(WorkTypes, NiceSweepWalksNice) {
  auto set = start_set(WorkType::kNiceSweep, 1);
  ASSERT_TRUE(set.ok());
  auto seen = observe(
      set->pids()[0], [](pid_t p) { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(p)); }, 8);
  EXPECT_GE(seen.size(), 8u);
  ASSERT_TRUE(set->stop(5s).ok());
  const auto& r = set->reports()[0];
  expect_sane(r);
  if (::geteuid() == 0) {
    EXPECT_LT(*seen.begin(), 0) << "root can lower nice";
    EXPECT_TRUE(r.notes.empty());
  }
}

TEST(WorkTypes, UnitsFollowTheirDefinitions) {
  auto pf = start_set(WorkType::kPageFaultChurn, 1);
  auto cache = start_set(WorkType::kCachePressure, 1);
  ASSERT_TRUE(pf.ok() && cache.ok());
  ASSERT_TRUE(run_until_progress(*pf, 0ms, 3));
  ASSERT_TRUE(run_until_progress(*cache, 0ms, 3));
  ASSERT_TRUE(pf->stop(5s).ok());
  ASSERT_TRUE(cache->stop(5s).ok());
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const auto& p = pf->reports()[0];
  EXPECT_EQ(p.work_units, p.iterations * (4096 * 1024 / page));
  const auto& c = cache->reports()[0];
  EXPECT_EQ(c.work_units, c.iterations * (16384 / (32 * 1024 / 64)));
}

TEST(WorkTypes, MemPolicyBindReportsPagesOnTheNode) {
  if (!std::filesystem::exists("/sys/devices/system/node/node0")) GTEST_SKIP() << "no NUMA";
  WorkerOptions o;
  o.mempolicy = {MemPolicy::Kind::kBind, {0}};
  auto set = start_set(WorkType::kCachePressure, 2, o);
  ASSERT_TRUE(set.ok()) << set.error().message();
  ASSERT_TRUE(run_until_progress(*set, 0ms, 3));
  ASSERT_TRUE(set->stop(5s).ok());
  for (const auto& r : set->reports()) {
    expect_sane(r);
    ASSERT_EQ(r.numa_pages.size(), 1u);
    EXPECT_EQ(r.numa_pages.begin()->first, 0u);
    EXPECT_GE(r.numa_pages.begin()->second, 256u + 8u);  // 1 MiB probe + 32 KiB buffer
  }
}

TEST(WorkTypes, BadMemPolicyNodeFailsSpawn) {
  if (!std::filesystem::exists("/sys/devices/system/node/node0")) GTEST_SKIP() << "no NUMA";
  if (std::filesystem::exists("/sys/devices/system/node/node1000")) GTEST_SKIP();
  WorkerOptions o;
  o.cgroup = "types";
  o.spec = default_spec(WorkType::kCpuSpin);
  o.mempolicy = {MemPolicy::Kind::kBind, {1000}};
  auto set = WorkerSet::spawn(o);
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.error().message().find("set_mempolicy"), std::string::npos)
      << set.error().message();
}

}  // namespace
}  // namespace ktstr::workload
