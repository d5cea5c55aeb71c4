#include "workload/knobs.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace ktstr::workload {
namespace {

TEST(Knobs, ParsePolicy) {
  auto p = parse_policy("fifo:50");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind, Policy::Kind::kFifo);
  EXPECT_EQ(p->priority, 50);
  EXPECT_EQ(to_string(*p), "fifo:50");
  for (std::string s : {"normal", "batch", "idle", "rr:1", "fifo:99"}) {
    auto q = parse_policy(s);
    ASSERT_TRUE(q.ok()) << s;
    EXPECT_EQ(to_string(*q), s);
  }
}

TEST(Knobs, ParsePolicyErrors) {
  for (std::string s :
       {"fifo", "fifo:0", "rr:100", "normal:3", "fifo:x", "fifo:5x", "deadline", ""}) {
    auto q = parse_policy(s);
    EXPECT_FALSE(q.ok()) << s;
    if (!q.ok()) {
      EXPECT_EQ(q.error().message().find('\n'), std::string::npos);
    }
  }
  EXPECT_EQ(parse_policy("deadline").error().message(),
            "'deadline' is not a scheduling policy; use normal, batch, idle, fifo:P or rr:P (P 1..99)");
  for (std::string s : {"fifo:0", "fifo:100", "rr:0", "rr:100", "fifo", "rr:x"})
    EXPECT_EQ(parse_policy(s).error().message(),
              "'" + s + "' needs a real-time priority from 1 to 99; use e.g. " + s.substr(0, s.find(':')) +
                  ":10")
        << s;
}

TEST(Knobs, ParseMemPolicy) {
  auto m = parse_mempolicy("interleave:0-2,5");
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->kind, MemPolicy::Kind::kInterleave);
  EXPECT_EQ(m->nodes, (std::vector<uint32_t>{0, 1, 2, 5}));
  EXPECT_EQ(to_string(*m), "interleave:0-2,5");
  for (std::string s : {"default", "local", "bind:1", "preferred:0"}) {
    auto q = parse_mempolicy(s);
    ASSERT_TRUE(q.ok()) << s;
    EXPECT_EQ(to_string(*q), s);
  }
  for (std::string s : {"bind", "interleave:", "preferred:0-1", "local:0", "bind:x", "spread:0"})
    EXPECT_FALSE(parse_mempolicy(s).ok()) << s;
  EXPECT_EQ(parse_mempolicy("preferred:0-1").error().message(),
            "'preferred:0-1' names 2 nodes; preferred takes exactly one, e.g. preferred:0");
  EXPECT_EQ(parse_mempolicy("bind:").error().message(),
            "'bind:' needs a non-empty NUMA node list, e.g. bind:0");
  EXPECT_EQ(parse_mempolicy("numa").error().message(),
            "'numa' is not a memory policy; use default, local, bind:NODES, preferred:NODE or "
            "interleave:NODES");
  for (std::string s : {"default", "local", "bind:0-1", "preferred:1", "interleave:0,2"})
    EXPECT_EQ(to_string(*parse_mempolicy(s)), s == "interleave:0,2" ? "interleave:0,2" : s);
}

TEST(Knobs, ApplyToAChildProcess) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::pause();
    ::_exit(0);
  }
  ASSERT_GT(pid, 0);
  ASSERT_TRUE(apply_nice(pid, 7).ok());
  EXPECT_EQ(::getpriority(PRIO_PROCESS, static_cast<id_t>(pid)), 7);
  EXPECT_TRUE(apply_nice(pid, 7).ok());  // no-op
  ASSERT_TRUE(apply_policy(pid, {Policy::Kind::kBatch, 0}).ok());
  EXPECT_EQ(::sched_getscheduler(pid), SCHED_BATCH);
  ASSERT_TRUE(apply_affinity(pid, {0}).ok());
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(::sched_getaffinity(pid, sizeof set, &set), 0);
  EXPECT_EQ(CPU_COUNT(&set), 1);
  EXPECT_TRUE(CPU_ISSET(0, &set));
  EXPECT_FALSE(apply_affinity(pid, {}).ok());
  EXPECT_FALSE(apply_nice(pid, 20).ok());
  auto bad = apply_affinity(pid, {4000});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("sched_setaffinity"), std::string::npos);
  ::kill(pid, SIGKILL);
  int ws;
  ::waitpid(pid, &ws, 0);
}

TEST(Knobs, DefaultMemPolicyIsANoOp) {
  EXPECT_TRUE(apply_mempolicy_self({}).ok());
  EXPECT_FALSE(apply_mempolicy_self({MemPolicy::Kind::kBind, {}}).ok());
}

}  // namespace
}  // namespace ktstr::workload
