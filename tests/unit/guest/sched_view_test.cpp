// The guest's own view of its runqueues, from debugfs sched/debug text.
#include "guest/sched_view.h"

#include <gtest/gtest.h>

namespace ktstr::guest {
namespace {

TEST(SchedView, FirstNrRunningAfterEachCpuHeaderIsTheRqs) {
  const char* text =
      "Sched Debug Version: v0.11, 7.2.13\n"
      "cpu#0\n"
      "  .nr_running                    : 2\n"
      "  .nr_switches                   : 1234\n"
      "cfs_rq[0]:/\n"
      "  .nr_running                    : 7\n"  // a sub-queue's: not the rq's
      "cpu#1\n"
      "  .nr_running                    : 0\n"
      "cpu#3\n"
      "  .nr_running                    : 5\n";
  EXPECT_EQ(parse_sched_debug_nr_running(text), (std::vector<int64_t>{2, 0, -1, 5}));
}

TEST(SchedView, GarbageIsIgnored) {
  EXPECT_TRUE(parse_sched_debug_nr_running("").empty());
  EXPECT_TRUE(parse_sched_debug_nr_running("cpu#x\n  .nr_running : 3\n").empty());
  EXPECT_TRUE(parse_sched_debug_nr_running("cpu#99999999\n  .nr_running : 3\n").empty());
  EXPECT_EQ(parse_sched_debug_nr_running("cpu#1\n  .nr_running : nope\n  .nr_running : 4\n"),
            (std::vector<int64_t>{}));
}

TEST(SchedView, MissingFilesAreErrorsNotCrashes) {
  auto v = read_guest_sched_view("/nonexistent-debugfs", "/nonexistent-sys");
  EXPECT_TRUE(v.nr_running.empty());
  EXPECT_FALSE(v.scx_state);
  EXPECT_EQ(v.errors.size(), 2u);
  EXPECT_GT(v.monotonic_ns, 0u);
}

}  // namespace
}  // namespace ktstr::guest
