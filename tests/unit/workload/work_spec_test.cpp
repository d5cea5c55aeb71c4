#include "workload/work_spec.h"

#include <gtest/gtest.h>

#include <set>

namespace ktstr::workload {
namespace {

TEST(WorkSpec, NamesRoundTripForEveryType) {
  const std::vector<std::string> expected = {
      "cpu-spin",     "yield-heavy",      "mixed",           "io-sync",
      "bursty",       "pipe-io",          "futex-ping-pong", "cache-pressure",
      "cache-yield",  "cache-pipe",       "futex-fan-out",   "fan-out-compute",
      "sequence",     "fork-exit",        "nice-sweep",      "affinity-churn",
      "policy-churn", "page-fault-churn", "mutex-contention"};
  auto types = all_work_types();
  ASSERT_EQ(types.size(), expected.size());
  for (size_t i = 0; i < types.size(); ++i) {
    EXPECT_EQ(to_string(types[i]), expected[i]);
    auto parsed = parse_work_type(expected[i]);
    ASSERT_TRUE(parsed.ok()) << expected[i];
    EXPECT_EQ(*parsed, types[i]);
  }
}

TEST(WorkSpec, UnknownNameListsValidOnesOnOneLine) {
  auto r = parse_work_type("cpu-spinn");
  ASSERT_FALSE(r.ok());
  const std::string msg = r.error().message();
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(msg.find("\"cpu-spinn\""), std::string::npos);
  EXPECT_NE(msg.find("cpu-spin, yield-heavy"), std::string::npos);
  EXPECT_NE(msg.find("mutex-contention"), std::string::npos);
  EXPECT_EQ(msg.find('\n'), std::string::npos);
  EXPECT_FALSE(parse_work_type("").ok());
  EXPECT_FALSE(parse_work_type("CPU-SPIN").ok());
}

TEST(WorkSpec, GroupSizes) {
  EXPECT_EQ(default_spec(WorkType::kCpuSpin).group_size(), 1u);
  EXPECT_EQ(default_spec(WorkType::kPipeIo).group_size(), 2u);
  EXPECT_EQ(default_spec(WorkType::kFutexPingPong).group_size(), 2u);
  EXPECT_EQ(default_spec(WorkType::kCachePipe).group_size(), 2u);
  EXPECT_EQ(default_spec(WorkType::kFutexFanOut).group_size(), 5u);
  EXPECT_EQ(default_spec(WorkType::kFanOutCompute).group_size(), 5u);
  EXPECT_EQ(default_spec(WorkType::kMutexContention).group_size(), 4u);
  WorkSpec s = default_spec(WorkType::kFutexFanOut);
  s.fan_out = 2;
  EXPECT_EQ(s.group_size(), 3u);
  s = default_spec(WorkType::kMutexContention);
  s.contenders = 7;
  EXPECT_EQ(s.group_size(), 7u);
}

TEST(WorkSpec, WakeLatencyOnlyForPartnerWokenTypes) {
  std::set<WorkType> blocking = {WorkType::kPipeIo, WorkType::kFutexPingPong, WorkType::kCachePipe,
                                 WorkType::kFutexFanOut, WorkType::kFanOutCompute};
  for (WorkType t : all_work_types())
    EXPECT_EQ(default_spec(t).records_wake_latency(), blocking.count(t) == 1) << to_string(t);
}

TEST(WorkSpec, DefaultsFollowTheIssue) {
  EXPECT_EQ(default_spec(WorkType::kMixed).spin_iters, 1024u);
  auto io = default_spec(WorkType::kIoSync);
  EXPECT_EQ(io.io_bytes, 64u * 1024);
  EXPECT_EQ(io.sleep_us, 100u);
  auto b = default_spec(WorkType::kBursty);
  EXPECT_EQ(b.burst_ms, 50u);
  EXPECT_EQ(b.sleep_ms, 100u);
  EXPECT_EQ(default_spec(WorkType::kPipeIo).iters, 1024u);
  auto c = default_spec(WorkType::kCachePressure);
  EXPECT_EQ(c.buffer_kib, 32u);
  EXPECT_EQ(c.stride, 64u);
  auto f = default_spec(WorkType::kFanOutCompute);
  EXPECT_EQ(f.fan_out, 4u);
  EXPECT_EQ(f.buffer_kib, 256u);
  EXPECT_EQ(f.ops, 5u);
  EXPECT_EQ(f.sleep_us, 100u);
  EXPECT_EQ(default_spec(WorkType::kPageFaultChurn).region_kib, 4096u);
  EXPECT_EQ(default_spec(WorkType::kMutexContention).contenders, 4u);
  EXPECT_FALSE(default_spec(WorkType::kSequence).phases.empty());
  for (WorkType t : all_work_types()) {
    EXPECT_EQ(default_spec(t).type, t);
    EXPECT_TRUE(validate(default_spec(t)).ok()) << to_string(t);
  }
}

TEST(WorkSpec, ValidateNamesTheField) {
  WorkSpec s = default_spec(WorkType::kCachePressure);
  s.stride = 0;
  auto st = validate(s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("stride"), std::string::npos);

  s = default_spec(WorkType::kSequence);
  s.phases.clear();
  st = validate(s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("phases"), std::string::npos);

  s = default_spec(WorkType::kSequence);
  s.phases[1].duration_ms = 0;
  st = validate(s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("phases[1].duration_ms"), std::string::npos);

  s = default_spec(WorkType::kMutexContention);
  s.contenders = 1;
  EXPECT_FALSE(validate(s).ok());
  s = default_spec(WorkType::kFutexFanOut);
  s.fan_out = 0;
  EXPECT_FALSE(validate(s).ok());
  s = default_spec(WorkType::kIoSync);
  s.io_bytes = 0;
  EXPECT_FALSE(validate(s).ok());
  // Fields a type does not read are not checked.
  s = default_spec(WorkType::kCpuSpin);
  s.stride = 0;
  s.fan_out = 0;
  EXPECT_TRUE(validate(s).ok());
}

TEST(WorkSpec, PhaseKindNames) {
  for (auto k : {Phase::Kind::kSpin, Phase::Kind::kSleep, Phase::Kind::kYield, Phase::Kind::kIo}) {
    auto p = parse_phase_kind(to_string(k));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, k);
  }
  auto bad = parse_phase_kind("nap");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("spin, sleep, yield, io"), std::string::npos);
}

}  // namespace
}  // namespace ktstr::workload
