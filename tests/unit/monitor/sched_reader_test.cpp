// SchedReader against synthetic kernels: every metric read from the right
// place, missing members/symbols become notes, hostile pointers become
// errors in the sample (never a crash).
#include "monitor/sched_reader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "monitor/synthetic_kernel.h"

namespace ktstr::monitor {
namespace {

std::unique_ptr<SyntheticKernel> make(SyntheticOptions o = {}) {
  auto k = SyntheticKernel::build(std::move(o));
  EXPECT_TRUE(k.ok()) << k.error().message();
  return k.ok() ? std::move(*k) : nullptr;
}

bool has_note(const std::vector<std::string>& notes, const std::string& needle) {
  for (const auto& n : notes)
    if (n.find(needle) != std::string::npos) return true;
  return false;
}

TEST(SchedReader, ReadsEveryMetricOfEveryCpu) {
  auto k = make({.nr_cpus = 4});
  ASSERT_TRUE(k);
  EXPECT_TRUE(k->reader().notes().empty()) << k->reader().notes().front();
  k->set_nr_running(2, 7);
  k->set_scx_nr_running(2, 5);
  k->set_local_dsq_depth(2, 3);
  k->set_scx_flags(2, 0x9);
  k->set_clock(2, 123456789);
  k->set_curr_pid(2, 4242);
  k->set_jiffies(777);
  k->set_event(0, "SELECT_CPU_FALLBACK", 10);
  k->set_event(3, "SELECT_CPU_FALLBACK", 5);
  k->set_event(1, "DISPATCH_KEEP_LAST", 2);

  const Sample s = k->reader().read(k->space());
  ASSERT_EQ(s.cpus.size(), 4u);
  for (uint32_t cpu = 0; cpu < 4; ++cpu) {
    EXPECT_EQ(s.cpus[cpu].cpu, cpu);
    EXPECT_EQ(s.cpus[cpu].error, "") << cpu;
  }
  const CpuSample& c = s.cpus[2];
  EXPECT_EQ(c.nr_running, 7u);
  EXPECT_EQ(c.scx_nr_running, 5u);
  EXPECT_EQ(c.local_dsq_depth, 3u);
  EXPECT_EQ(c.scx_flags, 0x9u);
  EXPECT_EQ(c.rq_clock, 123456789u);
  EXPECT_EQ(c.curr_pid, 4242u);
  EXPECT_EQ(s.cpus[0].nr_running, 1u);
  EXPECT_EQ(s.cpus[0].curr_pid, 100u);
  EXPECT_EQ(s.cpus[3].curr_pid, 103u);

  EXPECT_EQ(s.global.scx_state, "enabled");
  EXPECT_EQ(s.global.scx_root, true);
  EXPECT_EQ(s.global.jiffies, 777u);
  EXPECT_EQ(s.global.error, "");
  // Enumerated from BTF, prefix stripped, summed over CPUs.
  const std::map<std::string, int64_t> want = {{"SELECT_CPU_FALLBACK", 15},
                                               {"DISPATCH_LOCAL_DSQ_OFFLINE", 0},
                                               {"DISPATCH_KEEP_LAST", 2},
                                               {"ENQ_SKIP_EXITING", 0}};
  EXPECT_EQ(s.global.events, want);
}

TEST(SchedReader, AddressesComeFromPerCpuOffsets) {
  auto k = make({.nr_cpus = 3});
  ASSERT_TRUE(k);
  for (uint32_t cpu = 0; cpu < 3; ++cpu) {
    auto rq = k->reader().rq_address(k->space(), cpu);
    ASSERT_TRUE(rq.ok()) << rq.error().message();
    EXPECT_EQ(*rq, k->rq_kva(cpu));
  }
  auto bad = k->reader().rq_address(k->space(), 3);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("cpu 3"), std::string::npos) << bad.error().message();
}

TEST(SchedReader, EnableStatesAndNoScheduler) {
  auto k = make({.nr_cpus = 2});
  ASSERT_TRUE(k);
  const char* names[] = {"enabling", "enabled", "disabling", "disabled"};
  for (int i = 0; i < 4; ++i) {
    k->set_enable_state(i);
    EXPECT_EQ(k->reader().read_global(k->space()).scx_state, names[i]);
  }
  k->set_enable_state(9);
  EXPECT_EQ(k->reader().read_global(k->space()).scx_state, "unknown (9)");
  k->set_scx_root(0);
  const GlobalSample g = k->reader().read_global(k->space());
  EXPECT_EQ(g.scx_root, false);
  EXPECT_TRUE(g.events.empty());  // no scheduler: no counters, and no error
  EXPECT_EQ(g.error, "");
}

TEST(SchedReader, MissingMembersAndSymbolsBecomeNotes) {
  auto k = make({.nr_cpus = 2,
                 .rq_scx = false,
                 .rq_curr = false,
                 .enable_state = false,
                 .scx_root = false,
                 .events = false,
                 .jiffies = false});
  ASSERT_TRUE(k);
  const auto& notes = k->reader().notes();
  EXPECT_TRUE(has_note(notes, "local DSQ depth not sampled")) << ::testing::PrintToString(notes);
  EXPECT_TRUE(has_note(notes, "scx.local_dsq.nr")) << ::testing::PrintToString(notes);
  EXPECT_TRUE(has_note(notes, "scx nr_running not sampled"));
  EXPECT_TRUE(has_note(notes, "current task not sampled"));
  EXPECT_TRUE(has_note(notes, "sched_ext state not sampled: no scx_enable_state_var"));
  EXPECT_TRUE(has_note(notes, "sched_ext root not sampled"));
  EXPECT_TRUE(has_note(notes, "sched_ext events not sampled"));
  EXPECT_TRUE(has_note(notes, "jiffies not sampled"));
  for (const auto& n : notes) EXPECT_EQ(n.find('\n'), std::string::npos) << n;

  const Sample s = k->reader().read(k->space());
  ASSERT_EQ(s.cpus.size(), 2u);
  EXPECT_EQ(s.cpus[1].nr_running, 1u);
  EXPECT_EQ(s.cpus[1].rq_clock, 1'000'000'000u);
  EXPECT_FALSE(s.cpus[1].local_dsq_depth);
  EXPECT_FALSE(s.cpus[1].scx_nr_running);
  EXPECT_FALSE(s.cpus[1].curr_pid);
  EXPECT_FALSE(s.global.scx_state);
  EXPECT_FALSE(s.global.scx_root);
  EXPECT_FALSE(s.global.jiffies);
  EXPECT_TRUE(s.global.events.empty());
}

TEST(SchedReader, EventCountersFromBtfNotAFixedList) {
  auto k = make({.nr_cpus = 2, .event_names = {"BRAND_NEW_EVENT", "SELECT_CPU_FALLBACK"}});
  ASSERT_TRUE(k);
  k->set_event(1, "BRAND_NEW_EVENT", 41);
  k->set_event(0, "BRAND_NEW_EVENT", 1);
  const auto g = k->reader().read_global(k->space());
  EXPECT_EQ(g.events.at("BRAND_NEW_EVENT"), 42);
  EXPECT_EQ(g.events.at("SELECT_CPU_FALLBACK"), 0);
  EXPECT_EQ(g.events.size(), 2u);
}

TEST(SchedReader, FailsOnlyWithoutRunQueues) {
  auto k = make({.nr_cpus = 2});
  ASSERT_TRUE(k);
  const auto no_rq = ksyms::SymbolTable::parse_kallsyms("ffffffff81000000 T _text\n");
  auto r = SchedReader::create(no_rq, k->kernel().btf, 2);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("runqueues"), std::string::npos) << r.error().message();
  auto empty_btf = SchedReader::create(k->kernel().symbols, ksyms::KernelBtf(), 2);
  EXPECT_FALSE(empty_btf.ok());
  EXPECT_FALSE(SchedReader::create(k->kernel().symbols, k->kernel().btf, 0).ok());
}

TEST(SchedReader, WithoutPerCpuOffsetOnlyCpu0IsTried) {
  auto k = make({.nr_cpus = 2, .per_cpu_offset = false});
  ASSERT_TRUE(k);
  EXPECT_TRUE(has_note(k->reader().notes(), "no __per_cpu_offset symbol"));
  const Sample s = k->reader().read(k->space());
  // CPU 0 at offset 0 is the per-CPU template, not backed by RAM here: an
  // error in the sample, not a crash.
  EXPECT_NE(s.cpus[0].error, "");
  EXPECT_NE(s.cpus[1].error.find("no __per_cpu_offset"), std::string::npos) << s.cpus[1].error;
}

TEST(SchedReader, GarbagePointersAreErrorsNotCrashes) {
  auto k = make({.nr_cpus = 3});
  ASSERT_TRUE(k);
  // CPU 1's per-CPU offset points nowhere; CPU 2's current task is garbage.
  k->write_u64(k->per_cpu_offset_kva(1), 0x4141414141414141ull);
  k->write_u64(k->rq_kva(2) + 0x180, 0xffff888fffff0000ull);  // rq.curr beyond RAM
  k->write_u64(k->scx_sched_kva() + 0x48, 0xdeadbeef);        // scx_root->pcpu
  const Sample s = k->reader().read(k->space());
  EXPECT_EQ(s.cpus[0].error, "");
  EXPECT_EQ(s.cpus[0].nr_running, 1u);
  EXPECT_NE(s.cpus[1].error, "");
  EXPECT_FALSE(s.cpus[1].nr_running);
  EXPECT_EQ(s.cpus[1].error.find('\n'), std::string::npos);
  EXPECT_NE(s.cpus[2].error.find("rq.curr->pid"), std::string::npos) << s.cpus[2].error;
  EXPECT_EQ(s.cpus[2].nr_running, 1u);  // the rest of the CPU still read
  EXPECT_FALSE(s.cpus[2].curr_pid);
  EXPECT_NE(s.global.error.find("sched_ext event counters"), std::string::npos) << s.global.error;
  EXPECT_TRUE(s.global.events.empty());  // no partial sums
  EXPECT_EQ(s.global.scx_state, "enabled");

  // A NULL current task is reported, not followed.
  k->write_u64(k->rq_kva(0) + 0x180, 0);
  EXPECT_NE(k->reader().read_cpu(k->space(), 0).error.find("rq.curr is NULL"), std::string::npos);
  // scx_root pointing outside RAM.
  k->set_scx_root(0xffff888123456000ull);
  const auto g = k->reader().read_global(k->space());
  EXPECT_EQ(g.scx_root, true);
  EXPECT_NE(g.error.find("scx_root->pcpu"), std::string::npos) << g.error;
}

TEST(SchedReader, PerCpuOffsetIsCachedAfterTheFirstRead) {
  auto k = make({.nr_cpus = 2});
  ASSERT_TRUE(k);
  ASSERT_TRUE(k->reader().rq_address(k->space(), 1).ok());
  k->write_u64(k->per_cpu_offset_kva(1), 0x4141414141414141ull);
  auto rq = k->reader().rq_address(k->space(), 1);
  ASSERT_TRUE(rq.ok());
  EXPECT_EQ(*rq, k->rq_kva(1));
}

// The real 7.2 kernel's BTF (from the kernel cache, when present) has every
// member the reader wants: no notes but the symbols we leave out.
TEST(SchedReader, RealKernelBtfHasEveryMember) {
  const char* home = std::getenv("HOME");
  const std::filesystem::path btf_path =
      std::filesystem::path(home ? home : "/") /
      ".cache/ktstr/kernels/7.2.13+deb14-cloud-amd64/vmlinux.btf";
  if (!std::filesystem::exists(btf_path)) GTEST_SKIP() << "no cached kernel BTF at " << btf_path;
  auto btf = ksyms::KernelBtf::load(btf_path);
  ASSERT_TRUE(btf.ok()) << btf.error().message();
  const auto syms = ksyms::SymbolTable::parse_kallsyms(
      "ffffffff83000000 D runqueues\n"
      "ffffffff83100000 D __per_cpu_offset\n"
      "ffffffff83200000 d scx_enable_state_var\n"
      "ffffffff83200008 b scx_root\n"
      "ffffffff83200010 D jiffies\n");
  auto r = SchedReader::create(syms, *btf, 4);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_TRUE(r->notes().empty()) << ::testing::PrintToString(r->notes());
}

}  // namespace
}  // namespace ktstr::monitor
