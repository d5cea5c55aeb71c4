#include "workload/plan.h"

#include <gtest/gtest.h>

namespace ktstr::workload {
namespace {

TEST(Plan, SoloTypesKeepTheCount) {
  auto p = plan_workers(default_spec(WorkType::kCpuSpin), 3);
  EXPECT_EQ(p.count(), 3u);
  EXPECT_TRUE(p.notes.empty());
  for (uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(p.slots[i].group, i);
    EXPECT_EQ(p.slots[i].role, Role::kSolo);
  }
}

TEST(Plan, PairsRoundUpWithANote) {
  auto p = plan_workers(default_spec(WorkType::kPipeIo), 3);
  EXPECT_EQ(p.count(), 4u);
  EXPECT_EQ(p.group_sizes, (std::vector<uint32_t>{2, 2}));
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_NE(p.notes[0].find("rounded up to 4"), std::string::npos);
  EXPECT_EQ(p.slots[2].group, 1u);
  EXPECT_EQ(p.slots[2].role, Role::kPing);
  EXPECT_EQ(p.slots[3].role, Role::kPong);
  EXPECT_TRUE(plan_workers(default_spec(WorkType::kFutexPingPong), 4).notes.empty());
}

TEST(Plan, FanOutKeepsASmallerLastGroup) {
  auto p = plan_workers(default_spec(WorkType::kFutexFanOut), 8);  // groups of 5
  EXPECT_EQ(p.group_sizes, (std::vector<uint32_t>{5, 3}));
  EXPECT_EQ(p.count(), 8u);
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_EQ(p.slots[0].role, Role::kWaker);
  EXPECT_EQ(p.slots[1].role, Role::kWaiter);
  EXPECT_EQ(p.slots[5].role, Role::kWaker);
  EXPECT_EQ(p.slots[5].rank, 0u);
  EXPECT_EQ(p.slots[7].rank, 2u);
}

TEST(Plan, ALoneRemainderIsRoundedUpToTwo) {
  auto p = plan_workers(default_spec(WorkType::kMutexContention), 1);
  EXPECT_EQ(p.group_sizes, (std::vector<uint32_t>{2}));
  ASSERT_EQ(p.notes.size(), 1u);
  auto q = plan_workers(default_spec(WorkType::kFanOutCompute), 6);
  EXPECT_EQ(q.group_sizes, (std::vector<uint32_t>{5, 2}));
  EXPECT_EQ(q.slots[5].role, Role::kProducer);
  EXPECT_EQ(q.slots[6].role, Role::kConsumer);
}

TEST(Plan, ZeroWorkers) { EXPECT_EQ(plan_workers(default_spec(WorkType::kPipeIo), 0).count(), 0u); }

TEST(Plan, RoleNames) {
  EXPECT_EQ(to_string(Role::kContender), "contender");
  EXPECT_EQ(to_string(Role::kPong), "pong");
}

}  // namespace
}  // namespace ktstr::workload
