// The supervisor's parsing pieces: the kernel's sched_ext log lines (format
// of linux 7.2 kernel/sched/ext/ext.c), the output tail, the trace dump.
#include <gtest/gtest.h>

#include "guest/scheduler_supervisor.h"
#include "scheduler/exit_kind.h"

namespace ktstr::guest::sched_detail {
namespace {

TEST(DisabledLine, Parses) {
  auto d = parse_disabled_line("sched_ext: BPF scheduler \"simple\" disabled (runnable task stall)");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->ops, "simple");
  EXPECT_EQ(d->reason, "runnable task stall");
  auto u = parse_disabled_line(
      "sched_ext: BPF scheduler \"qmap\" disabled (unregistered from user space)");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->reason, "unregistered from user space");
  EXPECT_FALSE(parse_disabled_line("sched_ext: BPF scheduler \"simple\" enabled"));
  EXPECT_FALSE(parse_disabled_line("sched_ext: simple: kworker failed to run"));
  EXPECT_FALSE(parse_disabled_line("sched_ext: BPF scheduler \"x disabled (no quote end"));
  // Sub-schedulers are not the root scheduler the supervisor watches.
  EXPECT_FALSE(parse_disabled_line("sched_ext: BPF sub-scheduler \"c\" disabled (parent exiting)"));
}

TEST(EnabledLine, Parses) {
  EXPECT_EQ(parse_enabled_line("sched_ext: BPF scheduler \"simple\" enabled"), "simple");
  EXPECT_EQ(parse_enabled_line("sched_ext: BPF scheduler \"cpu0\" enabled (partial)"), "cpu0");
  EXPECT_FALSE(parse_enabled_line("sched_ext: BPF scheduler \"simple\" disabled (x)"));
}

TEST(ExitKinds, MatchTheKernelReasons) {
  namespace sx = ktstr::scheduler;
  EXPECT_EQ(sx::exit_kind_from_reason("runnable task stall"), sx::kExitErrorStall);
  EXPECT_EQ(sx::exit_kind_from_reason("unregistered from user space"), sx::kExitUnreg);
  EXPECT_EQ(sx::exit_kind_from_reason("scx_bpf_error"), sx::kExitErrorBpf);
  EXPECT_FALSE(sx::exit_kind_from_reason("something new"));
  EXPECT_TRUE(sx::is_ejection(sx::kExitErrorStall));
  EXPECT_TRUE(sx::is_ejection(sx::kExitSysrq));
  EXPECT_FALSE(sx::is_ejection(sx::kExitUnreg));
  EXPECT_FALSE(sx::is_ejection(sx::kExitUnregBpf));
  EXPECT_EQ(sx::exit_kind_name(sx::kExitProcessDied), "process died");
  EXPECT_EQ(sx::exit_kind_name(1026), "runnable task stall");
}

TEST(KernelLogScanner, CollectsExitMessageTraceAndExcerpt) {
  KernelLogScanner s;
  s.feed("random: crng init done", "[1.0] random: crng init done\n");
  s.feed("sched_ext: BPF scheduler \"simple\" enabled", "[2.0] enabled\n");
  EXPECT_EQ(s.enabled_ops(), "simple");
  EXPECT_FALSE(s.exited());
  s.feed("sched_ext: BPF scheduler \"simple\" disabled (runnable task stall)", "[3.0] disabled\n");
  s.feed("sched_ext: simple: kworker/0:1[12] failed to run for 6.024s", "[3.0] msg\n");
  s.feed("  scx_watchdog_workfn+0x154/0x1e0", "[3.0]   trace1\n");
  s.feed("  process_one_work+0x17e/0x330", "[3.0]   trace2\n");
  s.feed("virtio_net: unrelated", "[3.1] unrelated\n");
  s.feed("  indented but after the trace ended", "[3.2]   late\n");
  s.feed("sched_ext: BPF scheduler \"other\" disabled (runtime error)", "[4.0] second\n");
  ASSERT_TRUE(s.exited());
  EXPECT_EQ(s.exit()->ops, "simple");  // the first exit counts
  EXPECT_EQ(s.exit()->reason, "runnable task stall");
  EXPECT_EQ(s.message(), "kworker/0:1[12] failed to run for 6.024s");
  EXPECT_EQ(s.excerpt(),
            "[2.0] enabled\n[3.0] disabled\n[3.0] msg\n[3.0]   trace1\n[3.0]   trace2\n[4.0] second\n");
}

TEST(KernelLogScanner, ExcerptIsBounded) {
  KernelLogScanner s;
  for (int i = 0; i < 500; ++i) s.feed("sched_ext: line", "sched_ext: line\n");
  EXPECT_LE(s.excerpt().size(), 100u * 16);
}

TEST(LineTail, KeepsTheLastLines) {
  LineTail t(3);
  t.feed("one\ntwo\nthr");
  t.feed("ee\r\nfour\nfi");
  EXPECT_EQ(t.lines(), (std::vector<std::string>{"three", "four", "fi"}));
  LineTail empty(3);
  EXPECT_TRUE(empty.lines().empty());
  LineTail lng(2);
  lng.feed(std::string(10000, 'x') + "\n");
  ASSERT_EQ(lng.lines().size(), 1u);
  EXPECT_EQ(lng.lines()[0].size(), 512u);
}

TEST(ExitMessage, FromTheSchedulersLastWords) {
  std::vector<std::string> tail{
      "local=3 global=1",
      "EXIT: unregistered from BPF (ktstr fixture: exit requested after 1000 ms) on CPU 0",
      "ktstr_fixture: exit kind=UNREG_BPF(65) code=0"};
  EXPECT_EQ(exit_message_from_output(tail, "unregistered from BPF"),
            "ktstr fixture: exit requested after 1000 ms");
  EXPECT_EQ(exit_message_from_output({"EXIT: runtime error (a (nested) thing)"}, "runtime error"),
            "a (nested) thing");
  EXPECT_EQ(exit_message_from_output({"EXIT: unregistered from user space"},
                                     "unregistered from user space"),
            "");
  EXPECT_EQ(exit_message_from_output(tail, "runnable task stall"), "");
  EXPECT_EQ(exit_message_from_output({}, "x"), "");
}

TEST(TraceDump, ExtractsDumpEvents) {
  std::string trace =
      "# tracer: nop\n"
      "#\n"
      "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
      "              sh-1       [000] d..1.    12.345678: sched_ext_dump: Dumping sched_ext state\n"
      "              sh-1       [000] d..1.    12.345679: sched_ext_dump: CPU 0   : nr_run=1\n"
      "              sh-1       [000] d..1.    12.345680: sched_switch: prev=a next=b\n"
      "              sh-1       [000] d..1.    12.345681: sched_ext_dump: \n";
  EXPECT_EQ(dump_from_trace(trace), "Dumping sched_ext state\nCPU 0   : nr_run=1\n\n");
  EXPECT_EQ(dump_from_trace("# tracer: nop\n"), "");
}

}  // namespace
}  // namespace ktstr::guest::sched_detail
