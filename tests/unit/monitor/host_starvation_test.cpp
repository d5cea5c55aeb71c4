#include "monitor/host_starvation.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ktstr::monitor {
namespace {

TEST(HostStarvation, ParsesSchedstat) {
  auto s = parse_schedstat("123456 789 42\n");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(s->run_ns, 123456u);
  EXPECT_EQ(s->wait_ns, 789u);
  EXPECT_EQ(s->slices, 42u);
  for (const char* bad : {"", "1 2", "x 2 3", "1 -2 3"}) {
    auto r = parse_schedstat(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(HostStarvation, WaitShare) {
  EXPECT_DOUBLE_EQ(wait_share(30'000'000, 100'000'000), 0.3);
  EXPECT_DOUBLE_EQ(wait_share(300'000'000, 100'000'000), 1.0);
  EXPECT_DOUBLE_EQ(wait_share(1, 0), 0.0);
}

TEST(HostStarvation, UpdateReadsTheThreadsSchedstat) {
  const pid_t tid = static_cast<pid_t>(syscall(SYS_gettid));
  HostStarvation h(getpid(), {tid});
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::seconds(1000));
  std::string problem;
  EXPECT_EQ(h.update(t0, &problem), 0.0);  // first call: no interval yet
  const double share = h.update(t0 + std::chrono::milliseconds(100), &problem);
  EXPECT_GE(share, 0.0);
  EXPECT_LE(share, 1.0);
  EXPECT_EQ(problem, "");
}

TEST(HostStarvation, UnreadableThreadIsReportedOnceAndSkipped) {
  HostStarvation h(getpid(), {999'999'999});
  const auto t0 = std::chrono::steady_clock::time_point(std::chrono::seconds(1000));
  std::string problem;
  EXPECT_EQ(h.update(t0, &problem), 0.0);
  EXPECT_NE(problem.find("host_starved: opening /proc/"), std::string::npos) << problem;
  std::string again;
  EXPECT_EQ(h.update(t0 + std::chrono::milliseconds(100), &again), 0.0);
  EXPECT_EQ(again, "");
}

}  // namespace
}  // namespace ktstr::monitor
