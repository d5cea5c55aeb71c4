#include "cgroup/cleanup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup2_env.h"

namespace ktstr::cgroup {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Cleanup = testing::Cgroup2Test;

TEST(TreeRootName, RoundTrips) {
  EXPECT_EQ(tree_root_name(123, "abc"), "ktstr-123-abc");
  EXPECT_EQ(tree_root_owner("ktstr-123-abc"), 123);
  EXPECT_EQ(tree_root_owner(tree_root_name(::getpid(), "x")), ::getpid());
  for (const char* other :
       {"ktstr-utest-1-2", "ktstr-123", "ktstr-123-", "ktstr--1-a", "ktstr-0-a", "ktstr-12x-a",
        "ktstr-", "other", "xktstr-1-a", "ktstr-99999999999999-a"})
    EXPECT_EQ(tree_root_owner(other), std::nullopt) << other;
}

TEST_F(Cleanup, RemovesTreesOfDeadRunsAndKeepsTheRest) {
  pid_t dead = testing::dead_pid();
  ASSERT_GT(dead, 0);
  ASSERT_NE(::kill(dead, 0), 0);
  const fs::path stale = base() / tree_root_name(dead, "aaaaaa");
  const fs::path live = base() / tree_root_name(::getpid(), "bbbbbb");
  // What a crashed run leaves: a tree with a task still inside.
  auto inner = Cgroup::create(base(), stale.filename().string() + "/cg_0/inner",
                              CreateOptions{.controllers = {}});
  ASSERT_TRUE(inner.ok()) << inner.error().message();
  Child worker = testing::sleeper();
  KTSTR_ASSERT_OK(inner->move_task(worker.pid()));
  inner->release();
  for (const auto& d : {live, base() / "ktstr-utest-1-x", base() / "other"})
    ASSERT_EQ(::mkdir(d.c_str(), 0755), 0) << d;

  auto removed = cleanup_stale(base(), 10s);
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_EQ(*removed, std::vector<fs::path>{stale});
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(live));
  EXPECT_TRUE(fs::exists(base() / "ktstr-utest-1-x"));
  EXPECT_TRUE(fs::exists(base() / "other"));
  auto st = worker.wait_for(10s);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->signaled && st->signal == SIGKILL);

  auto again = cleanup_stale(base(), 10s);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
}

TEST(CleanupStale, NeedsACgroup2Root) {
  testing::TmpfsDir dir;
  if (!dir.ok()) GTEST_SKIP() << "no tmpfs directory available";
  ASSERT_EQ(::mkdir((dir.path() / "ktstr-1-x").c_str(), 0755), 0);
  auto r = cleanup_stale(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kUnavailable);
  EXPECT_TRUE(fs::exists(dir.path() / "ktstr-1-x"));
}

}  // namespace
}  // namespace ktstr::cgroup
