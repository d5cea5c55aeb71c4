#include "cgroup/cgroup.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "cgroup/detail/control.h"
#include "cgroup2_env.h"
#include "util/files.h"
#include "util/scope_guard.h"

namespace ktstr::cgroup {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testing::as_proc_path;
using testing::cgroup_of;
using testing::sleeper;
using Cg = testing::Cgroup2Test;

bool has(const std::vector<pid_t>& v, pid_t p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

void expect_killed(Child& c) {
  auto st = c.wait_for(10s);
  ASSERT_TRUE(st.ok()) << st.error().message();
  EXPECT_TRUE(st->signaled);
  EXPECT_EQ(st->signal, SIGKILL);
}

TEST_F(Cg, CreateMakesTheDirectoryAndDestructionRemovesIt) {
  fs::path p;
  {
    auto cg = Cgroup::create(base(), "cg_0", options());
    ASSERT_TRUE(cg.ok()) << cg.error().message();
    p = cg->path();
    EXPECT_EQ(p, base() / "cg_0");
    EXPECT_EQ(cg->name(), "cg_0");
    EXPECT_TRUE(fs::exists(p / "cgroup.procs"));
  }
  EXPECT_FALSE(fs::exists(p));
}

TEST_F(Cg, ExistingLeafIsAnErrorAndIsLeftAlone) {
  ASSERT_EQ(::mkdir((base() / "taken").c_str(), 0755), 0);
  auto cg = Cgroup::create(base(), "taken", options());
  ASSERT_FALSE(cg.ok());
  EXPECT_EQ(cg.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(cg.error().message().find("already exists"), std::string::npos);
  EXPECT_TRUE(fs::exists(base() / "taken"));
}

TEST_F(Cg, NestedNameCreatesEachLevelAndRemovesThemAll) {
  {
    auto cg = Cgroup::create(base(), "a/b/c", options());
    ASSERT_TRUE(cg.ok()) << cg.error().message();
    EXPECT_EQ(cg->path(), base() / "a" / "b" / "c");
    EXPECT_TRUE(fs::exists(base() / "a" / "b" / "c" / "cgroup.procs"));
  }
  EXPECT_FALSE(fs::exists(base() / "a"));
}

TEST_F(Cg, NestedNameReusesAnExistingParentAndLeavesIt) {
  auto parent = Cgroup::create(base(), "p", options());
  ASSERT_TRUE(parent.ok()) << parent.error().message();
  {
    auto cg = Cgroup::create(base(), "p/q", options());
    ASSERT_TRUE(cg.ok()) << cg.error().message();
  }
  EXPECT_FALSE(fs::exists(base() / "p" / "q"));
  EXPECT_TRUE(fs::exists(base() / "p"));
}

TEST_F(Cg, DestroyRemovesChildrenItDidNotCreate) {
  auto cg = Cgroup::create(base(), "top", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  ASSERT_EQ(::mkdir((cg->path() / "x").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir((cg->path() / "x" / "y").c_str(), 0755), 0);
  auto s = cg->destroy();
  EXPECT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(fs::exists(base() / "top"));
  EXPECT_FALSE(cg->valid());
  EXPECT_TRUE(cg->destroy().ok());  // idempotent
}

TEST_F(Cg, MovingTransfersOwnershipAndReleaseKeepsTheDirectory) {
  auto cg = Cgroup::create(base(), "m", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  Cgroup a = std::move(*cg);
  EXPECT_FALSE(cg->valid());
  Cgroup b;
  b = std::move(a);
  EXPECT_TRUE(fs::exists(base() / "m"));
  EXPECT_EQ(b.path(), base() / "m");
  auto kept = b.release();
  EXPECT_FALSE(b.valid());
  EXPECT_TRUE(fs::exists(kept));  // base()'s teardown removes it
}

TEST_F(Cg, CreateChildNestsWithTheSameOptions) {
  auto cg = Cgroup::create(base(), "parent", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  auto child = cg->create_child("kid");
  ASSERT_TRUE(child.ok()) << child.error().message();
  EXPECT_EQ(child->path(), base() / "parent" / "kid");
  // The parent goes first: it takes the child's directory with it.
  EXPECT_TRUE(cg->destroy().ok());
  EXPECT_FALSE(fs::exists(base() / "parent"));
  EXPECT_TRUE(child->destroy().ok());
}

TEST_F(Cg, MoveTaskPutsTheProcessInside) {
  auto cg = Cgroup::create(base(), "w", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  auto p = sleeper();
  KTSTR_ASSERT_OK(cg->move_task(p.pid()));
  auto t = cg->tasks();
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(*t, std::vector<pid_t>{p.pid()});
  EXPECT_EQ(cgroup_of(p.pid()), as_proc_path(cg->path(), mount()));
  auto pop = cg->populated();
  ASSERT_TRUE(pop.ok());
  EXPECT_TRUE(*pop);
}

TEST_F(Cg, MoveTaskRejectsBadAndDeadPids) {
  auto cg = Cgroup::create(base(), "w", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  for (pid_t bad : {0, -1}) {  // 0 would move this test process
    auto s = cg->move_task(bad);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), Errc::kInvalidArgument);
  }
  pid_t dead = testing::dead_pid();
  ASSERT_GT(dead, 0);
  auto s = cg->move_task(dead);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::kNotFound) << s.error().message();
  auto t = cg->tasks();
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->empty());
}

TEST_F(Cg, MoveAllTasksToTakesEveryTaskIncludingDescendants) {
  auto from = Cgroup::create(base(), "from", options());
  auto to = Cgroup::create(base(), "to", options());
  ASSERT_TRUE(from.ok() && to.ok());
  // Tasks only in leaves: cgroup v2 forbids them in "from" once it has
  // controllers enabled for children.
  auto a = from->create_child("a");
  auto c = from->create_child("b/c");
  ASSERT_TRUE(a.ok() && c.ok());
  auto p1 = sleeper(), p2 = sleeper();
  KTSTR_ASSERT_OK(a->move_task(p1.pid()));
  KTSTR_ASSERT_OK(c->move_task(p2.pid()));
  auto s = from->move_all_tasks_to(*to);
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto pop = from->populated();
  ASSERT_TRUE(pop.ok());
  EXPECT_FALSE(*pop);
  auto t = to->tasks();
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->size(), 2u);
  EXPECT_TRUE(has(*t, p1.pid()) && has(*t, p2.pid()));
}

TEST_F(Cg, DestroyMovesLeftoverTasksToTheRootByDefault) {
  auto cg = Cgroup::create(base(), "left", options(Leftover::kMoveToRoot));
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  auto p = sleeper();
  KTSTR_ASSERT_OK(cg->move_task(p.pid()));
  auto s = cg->destroy();
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(fs::exists(base() / "left"));
  EXPECT_TRUE(p.running());
  EXPECT_FALSE(p.poll().has_value());  // still alive
  EXPECT_EQ(cgroup_of(p.pid()), "/");
}

TEST_F(Cg, DestroyKillsLeftoverTasksWhenAsked) {
  auto cg = Cgroup::create(base(), "left", options(Leftover::kKill));
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  auto a = cg->create_child("a");
  auto c = cg->create_child("b/c");
  ASSERT_TRUE(a.ok() && c.ok());
  auto p1 = sleeper(), p2 = sleeper();
  KTSTR_ASSERT_OK(a->move_task(p1.pid()));
  KTSTR_ASSERT_OK(c->move_task(p2.pid()));
  auto s = cg->destroy();
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_FALSE(fs::exists(base() / "left"));
  expect_killed(p1);
  expect_killed(p2);
}

TEST_F(Cg, KillAllKillsTheWholeSubtree) {
  auto cg = Cgroup::create(base(), "k", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  auto a = cg->create_child("a");
  auto c = cg->create_child("b/c");
  ASSERT_TRUE(a.ok() && c.ok());
  auto p1 = sleeper(), p2 = sleeper();
  KTSTR_ASSERT_OK(a->move_task(p1.pid()));
  KTSTR_ASSERT_OK(c->move_task(p2.pid()));
  auto s = cg->kill_all();
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto pop = cg->populated();
  ASSERT_TRUE(pop.ok());
  EXPECT_FALSE(*pop);  // kill_all waited until the kernel agreed
  expect_killed(p1);
  expect_killed(p2);
  EXPECT_TRUE(fs::exists(cg->path()));  // killing does not remove
}

TEST_F(Cg, KillAllRefusesWhenThisProcessIsInside) {
  auto home = cgroup_of(::getpid());
  ASSERT_TRUE(home.has_value());
  fs::path home_dir = mount() / fs::path(*home).relative_path();
  auto cg = Cgroup::create(base(), "self", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  KTSTR_ASSERT_OK(detail::write_control(cg->path() / "cgroup.procs", std::to_string(::getpid())));
  ScopeGuard back(
      [&] { (void)detail::write_control(home_dir / "cgroup.procs", std::to_string(::getpid())); });
  auto s = cg->kill_all();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(s.error().message().find("this process"), std::string::npos) << s.error().message();
}

TEST_F(Cg, FreezeAndThawAreReportedByTheKernel) {
  auto cg = Cgroup::create(base(), "f", options(Leftover::kKill));
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  if (!fs::exists(cg->path() / "cgroup.freeze")) GTEST_SKIP() << "no cgroup.freeze (Linux < 5.2)";
  auto p = sleeper();
  KTSTR_ASSERT_OK(cg->move_task(p.pid()));
  auto s = cg->freeze(true);
  ASSERT_TRUE(s.ok()) << s.error().message();
  auto frozen = detail::event_is(cg->path(), "frozen", "1");
  ASSERT_TRUE(frozen.ok());
  EXPECT_TRUE(*frozen);
  s = cg->freeze(false);
  ASSERT_TRUE(s.ok()) << s.error().message();
  frozen = detail::event_is(cg->path(), "frozen", "0");
  ASSERT_TRUE(frozen.ok());
  EXPECT_TRUE(*frozen);
}

TEST_F(Cg, FrozenTasksAreStillKilledOnDestroy) {
  auto cg = Cgroup::create(base(), "fk", options(Leftover::kKill));
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  if (!fs::exists(cg->path() / "cgroup.freeze")) GTEST_SKIP() << "no cgroup.freeze (Linux < 5.2)";
  auto p = sleeper();
  KTSTR_ASSERT_OK(cg->move_task(p.pid()));
  KTSTR_ASSERT_OK(cg->freeze(true));
  auto s = cg->destroy();
  ASSERT_TRUE(s.ok()) << s.error().message();
  expect_killed(p);
}

TEST_F(Cg, UnknownControllerIsUnavailableAndLeavesNothing) {
  auto opts = options();
  opts.controllers.push_back("ktstr_nosuch");
  auto cg = Cgroup::create(base(), "x/y", opts);
  ASSERT_FALSE(cg.ok());
  EXPECT_EQ(cg.error().code(), Errc::kUnavailable);
  EXPECT_NE(cg.error().message().find("'ktstr_nosuch' is not available"), std::string::npos)
      << cg.error().message();
  EXPECT_FALSE(fs::exists(base() / "x"));
}

TEST_F(Cg, CpuKnobsValidateTheirRanges) {
  auto cg = Cgroup::create(base(), "cpu", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  for (uint32_t w : {0u, 10001u})
    EXPECT_EQ(cg->set_weight(w).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(cg->set_max(999).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(cg->set_max(std::nullopt, 999).error().code(), Errc::kInvalidArgument);
  EXPECT_EQ(cg->set_max(5000, 1000001).error().code(), Errc::kInvalidArgument);
}

TEST_F(Cg, CpuKnobsNeedTheCpuController) {
  auto cg = Cgroup::create(base(), "nocpu", CreateOptions{.controllers = {}});
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  if (fs::exists(cg->path() / "cpu.weight")) GTEST_SKIP() << "cpu is enabled here already";
  auto s = cg->set_weight(100);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::kUnavailable);
  EXPECT_NE(s.error().message().find("the cpu controller is not enabled"), std::string::npos);
  EXPECT_EQ(cg->set_max(50000).error().code(), Errc::kUnavailable);
  EXPECT_EQ(cg->set_cpuset(topo::CpuSet{0}).error().code(),
            fs::exists(cg->path() / "cpuset.cpus") ? Errc::kInvalidArgument : Errc::kUnavailable);
}

TEST_F(Cg, CpuWeightAndMaxAreWritten) {
  if (!usable("cpu"))
    GTEST_SKIP() << "cpu controller not available in this cgroup2 hierarchy "
                    "(bound to cgroup v1 on this host); VM tests cover it";
  auto cg = Cgroup::create(base(), "cpu", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  KTSTR_ASSERT_OK(cg->set_weight(250));
  EXPECT_EQ(trim(*read_file(cg->path() / "cpu.weight")), "250");
  KTSTR_ASSERT_OK(cg->set_max(50000, 100000));
  EXPECT_EQ(trim(*read_file(cg->path() / "cpu.max")), "50000 100000");
  KTSTR_ASSERT_OK(cg->set_max(std::nullopt));
  EXPECT_EQ(trim(*read_file(cg->path() / "cpu.max")), "max 100000");
}

TEST_F(Cg, CpusetSetEffectiveAndClear) {
  if (!usable("cpuset"))
    GTEST_SKIP() << "cpuset controller not available in this cgroup2 "
                    "hierarchy (bound to cgroup v1 on this host); VM tests "
                    "cover it";
  auto cg = Cgroup::create(base(), "cs", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  auto parent = topo::CpuSet::parse_list(*read_file(base() / "cpuset.cpus.effective"));
  ASSERT_TRUE(parent.ok() && !parent->empty());
  topo::CpuSet one{*parent->first()};
  auto s = cg->set_cpuset(one);
  ASSERT_TRUE(s.ok()) << s.error().message();
  EXPECT_EQ(*cg->cpuset(), one);
  EXPECT_EQ(*cg->effective_cpus(), one);
  auto p = sleeper();
  KTSTR_ASSERT_OK(cg->move_task(p.pid()));  // cpuset.mems is usable too
  KTSTR_ASSERT_OK(cg->clear_cpuset());
  EXPECT_TRUE(cg->cpuset()->empty());
  EXPECT_EQ(*cg->effective_cpus(), *parent);
}

TEST_F(Cg, CpusetOutsideTheParentIsRejected) {
  if (!usable("cpuset"))
    GTEST_SKIP() << "cpuset controller not available in this cgroup2 "
                    "hierarchy (bound to cgroup v1 on this host)";
  auto cg = Cgroup::create(base(), "cs", options());
  ASSERT_TRUE(cg.ok()) << cg.error().message();
  auto s = cg->set_cpuset(topo::CpuSet{topo::CpuSet::kMaxCpus - 1});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("not within the parent's effective CPUs"), std::string::npos);
  EXPECT_EQ(cg->set_cpuset({}).error().code(), Errc::kInvalidArgument);
}

TEST_F(Cg, TasksBelongInLeavesOnceControllersAreEnabled) {
  if (usable().empty())
    GTEST_SKIP() << "no cpu/cpuset controller in this cgroup2 hierarchy to "
                    "enable (bound to cgroup v1 on this host)";
  auto parent = Cgroup::create(base(), "p", options(Leftover::kKill));
  ASSERT_TRUE(parent.ok()) << parent.error().message();
  auto leaf = parent->create_child("leaf");  // enables the controllers in p
  ASSERT_TRUE(leaf.ok()) << leaf.error().message();
  auto p1 = sleeper(), p2 = sleeper();
  KTSTR_ASSERT_OK(leaf->move_task(p1.pid()));
  // p has a populated child and distributes controllers: no tasks of its own.
  auto s = parent->move_task(p2.pid());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(s.error().message().find("no internal processes"), std::string::npos)
      << s.error().message();

  // The other order: a parent holding tasks makes its children unusable.
  auto busy = Cgroup::create(base(), "busy", options(Leftover::kKill));
  ASSERT_TRUE(busy.ok()) << busy.error().message();
  auto kid = busy->create_child("kid");
  ASSERT_TRUE(kid.ok()) << kid.error().message();
  auto p3 = sleeper(), p4 = sleeper();
  // Threaded controllers (cpu, cpuset) let a childless-populated parent take
  // tasks; then its children cannot. Either way one of the two moves fails.
  s = busy->move_task(p3.pid());
  if (s.ok()) s = kid->move_task(p4.pid());
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(s.error().message().find("no internal processes"), std::string::npos)
      << s.error().message();
}

}  // namespace
}  // namespace ktstr::cgroup
