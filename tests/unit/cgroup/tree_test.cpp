#include "cgroup/tree.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include "cgroup/cleanup.h"
#include "cgroup2_env.h"
#include "util/files.h"

namespace ktstr::cgroup {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::sleeper;

class Tree : public testing::Cgroup2Test {
 protected:
  TreeOptions tree_options() const { return TreeOptions{.controllers = usable()}; }
  CgroupTree make() {
    auto t = CgroupTree::create(base(), tree_options());
    EXPECT_TRUE(t.ok()) << t.error().message();
    return t.ok() ? std::move(*t) : CgroupTree();
  }
};

void expect_killed(Child& c) {
  auto st = c.wait_for(10s);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(st->signaled && st->signal == SIGKILL) << st->describe();
}

TEST_F(Tree, RootIsNamedAfterThisProcess) {
  auto t = make();
  ASSERT_FALSE(t.root().empty());
  EXPECT_EQ(t.root().parent_path(), base());
  EXPECT_EQ(tree_root_owner(t.root().filename().string()), ::getpid());
  EXPECT_TRUE(fs::exists(t.root() / "cgroup.procs"));
}

TEST_F(Tree, AddGetAndNames) {
  auto t = make();
  auto a = t.add("cg_0");
  ASSERT_TRUE(a.ok()) << a.error().message();
  EXPECT_EQ((*a)->path(), t.root() / "cg_0");
  auto got = t.get("cg_0");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, *a);
  auto nested = t.add("parent/child");  // adds "parent" too
  ASSERT_TRUE(nested.ok()) << nested.error().message();
  EXPECT_EQ((*nested)->path(), t.root() / "parent" / "child");
  EXPECT_TRUE(t.contains("parent"));
  EXPECT_EQ(t.names(), (std::vector<std::string>{"cg_0", "parent", "parent/child"}));
  auto more = t.add("parent/other");  // reuses the tracked parent
  ASSERT_TRUE(more.ok()) << more.error().message();
}

TEST_F(Tree, DuplicatesBadNamesAndUnknownNamesAreErrors) {
  auto t = make();
  KTSTR_ASSERT_OK(t.add("cg_0"));
  auto dup = t.add("cg_0");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.error().message().find("already in the tree"), std::string::npos);
  EXPECT_EQ(t.add("a//b").error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(t.add("x/").error().code(), Errc::kInvalidArgument);
  auto missing = t.get("cg_9");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_EQ(missing.error().message(), "no cgroup named 'cg_9' (have: cg_0)");
  EXPECT_EQ(t.remove("cg_9").error().code(), Errc::kNotFound);
}

TEST_F(Tree, RemoveKillsTasksAndTakesDescendants) {
  auto t = make();
  auto child = t.add("p/c");
  auto other = t.add("keep");
  ASSERT_TRUE(child.ok() && other.ok());
  auto p1 = sleeper(), p2 = sleeper();
  KTSTR_ASSERT_OK((*child)->move_task(p1.pid()));
  KTSTR_ASSERT_OK((*other)->move_task(p2.pid()));
  auto s = t.remove("p");
  ASSERT_TRUE(s.ok()) << s.error().message();
  expect_killed(p1);
  EXPECT_FALSE(fs::exists(t.root() / "p"));
  EXPECT_EQ(t.names(), std::vector<std::string>{"keep"});
  EXPECT_FALSE(p2.poll().has_value());  // the sibling is untouched
}

TEST_F(Tree, DestroyKillsEverythingAndRemovesTheRoot) {
  auto t = make();
  auto a = t.add("cg_0");
  auto b = t.add("deep/er/est");
  ASSERT_TRUE(a.ok() && b.ok());
  auto p1 = sleeper(), p2 = sleeper();
  KTSTR_ASSERT_OK((*a)->move_task(p1.pid()));
  KTSTR_ASSERT_OK((*b)->move_task(p2.pid()));
  fs::path root = t.root();
  auto s = t.destroy();
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(fs::exists(root));
  EXPECT_TRUE(t.names().empty());
  expect_killed(p1);
  expect_killed(p2);
  EXPECT_TRUE(t.destroy().ok());  // idempotent
}

TEST_F(Tree, DestructorCleansUpAndMovingKeepsPointers) {
  fs::path root;
  Child p = sleeper();
  {
    auto t = make();
    auto a = t.add("cg_0");
    ASSERT_TRUE(a.ok());
    CgroupTree moved = std::move(t);
    root = moved.root();
    auto again = moved.get("cg_0");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, *a);  // map nodes move with the tree
    KTSTR_ASSERT_OK((*a)->move_task(p.pid()));
  }
  EXPECT_FALSE(fs::exists(root));
  expect_killed(p);
}

TEST_F(Tree, SwapCpusets) {
  if (!usable("cpuset"))
    GTEST_SKIP() << "cpuset controller not available in this cgroup2 "
                    "hierarchy (bound to cgroup v1 on this host); VM tests "
                    "cover it";
  auto t = make();
  auto a = t.add("a");
  auto b = t.add("b");
  ASSERT_TRUE(a.ok() && b.ok());
  auto all = (*a)->effective_cpus();
  ASSERT_TRUE(all.ok() && !all->empty());
  topo::CpuSet first{*all->first()};
  KTSTR_ASSERT_OK((*a)->set_cpuset(first));
  // b inherits (""): after the swap a inherits and b has a's CPU.
  auto s = t.swap_cpusets("a", "b");
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_TRUE((*a)->cpuset()->empty());
  EXPECT_EQ(*(*b)->cpuset(), first);
  EXPECT_EQ(*(*b)->effective_cpus(), first);
  if (all->count() >= 2) {
    topo::CpuSet second{*all->last()};
    KTSTR_ASSERT_OK((*a)->set_cpuset(second));
    KTSTR_ASSERT_OK(t.swap_cpusets("a", "b"));
    EXPECT_EQ(*(*a)->cpuset(), first);
    EXPECT_EQ(*(*b)->cpuset(), second);
  }
}

TEST_F(Tree, SwapCpusetsNeedsTheCpusetController) {
  if (usable("cpuset")) GTEST_SKIP() << "cpuset is available here; SwapCpusets covers it";
  auto t = make();
  KTSTR_ASSERT_OK(t.add("a"));
  KTSTR_ASSERT_OK(t.add("b"));
  auto s = t.swap_cpusets("a", "b");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::kUnavailable);
  EXPECT_EQ(t.swap_cpusets("a", "zz").error().code(), Errc::kNotFound);
}

}  // namespace
}  // namespace ktstr::cgroup
