// The sampler thread on a synthetic kernel. No timing is asserted: tests
// wait (bounded) for samples to appear and then check what they say.
#include "monitor/sampler.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "monitor/synthetic_kernel.h"

namespace ktstr::monitor {
namespace {

using namespace std::chrono_literals;

// Polls `done` for up to a minute; false if it never became true.
template <typename F>
bool eventually(F done) {
  for (int i = 0; i < 60000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

std::unique_ptr<SyntheticKernel> make(uint32_t cpus = 4) {
  auto k = SyntheticKernel::build({.nr_cpus = cpus});
  EXPECT_TRUE(k.ok()) << k.error().message();
  return k.ok() ? std::move(*k) : nullptr;
}

SamplerOptions fast() {
  SamplerOptions o;
  o.interval = 1ms;
  o.qemu_pid = getpid();
  o.vcpu_threads = {static_cast<pid_t>(syscall(SYS_gettid))};
  return o;
}

TEST(Sampler, SamplesTheGuestWithStepAndTime) {
  auto k = make(4);
  ASSERT_TRUE(k);
  k->set_nr_running(3, 6);
  std::atomic<uint32_t> step{2};
  SamplerOptions o = fast();
  o.step = [&step] { return step.load(); };
  auto s = Sampler::start(k->kernel(), o);
  ASSERT_TRUE(s.ok()) << s.error().message();
  ASSERT_TRUE(eventually([&] { return (*s)->timeline().samples.size() >= 3; }));
  (*s)->add_event("step 2 began");
  (*s)->stop();
  (*s)->stop();  // idempotent
  const Timeline t = (*s)->timeline();
  EXPECT_EQ(t.interval_ms, 1u);
  ASSERT_GE(t.samples.size(), 3u);
  uint64_t last = 0;
  for (const auto& x : t.samples) {
    ASSERT_EQ(x.cpus.size(), 4u);
    EXPECT_EQ(x.cpus[3].nr_running, 6u);
    EXPECT_EQ(x.step, 2u);
    EXPECT_GE(x.t_ms, last);
    EXPECT_GE(x.host_starved, 0.0);
    EXPECT_LE(x.host_starved, 1.0);
    EXPECT_EQ(x.global.scx_state, "enabled");
    last = x.t_ms;
  }
  ASSERT_EQ(t.events.size(), 1u);
  EXPECT_EQ(t.events[0].what, "step 2 began");
  EXPECT_EQ(t.events[0].step, 2u);
  ASSERT_TRUE((*s)->latest());
  EXPECT_EQ((*s)->latest()->t_ms, t.samples.back().t_ms);
  // Final after stop().
  EXPECT_EQ((*s)->timeline().samples.size(), t.samples.size());
}

TEST(Sampler, SampleAfterAFreezeIsFlaggedPaused) {
  auto k = make(2);
  ASSERT_TRUE(k);
  auto s = Sampler::start(k->kernel(), fast());
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(eventually([&] { return (*s)->timeline().samples.size() >= 2; }));
  (*s)->pause();
  const size_t n = (*s)->timeline().samples.size();
  (*s)->resume();
  ASSERT_TRUE(eventually([&] { return (*s)->timeline().samples.size() >= n + 3; }));
  (*s)->stop();
  const Timeline t = (*s)->timeline();
  EXPECT_TRUE(t.samples[n].paused);
  // Later ones are not (nothing paused since).
  EXPECT_FALSE(t.samples.back().paused);
}

TEST(Sampler, TimelineIsBounded) {
  auto k = make(2);
  ASSERT_TRUE(k);
  SamplerOptions o = fast();
  o.max_samples = 10;
  auto s = Sampler::start(k->kernel(), o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(eventually([&] {
    for (const auto& n : (*s)->timeline().notes)
      if (n.find("dropped the") != std::string::npos) return true;
    return false;
  }));
  (*s)->stop();
  EXPECT_LE((*s)->timeline().samples.size(), 10u);
}

TEST(Sampler, GarbageInGuestMemoryIsRecordedNotFatal) {
  auto k = make(3);
  ASSERT_TRUE(k);
  k->write_u64(k->per_cpu_offset_kva(2), 0x4141414141414141ull);
  k->set_scx_root(0x10);
  SamplerOptions o = fast();
  o.vcpu_threads = {999'999'999};  // no such thread: noted, not fatal
  o.step = []() -> uint32_t { throw std::runtime_error("broken step source"); };
  auto s = Sampler::start(k->kernel(), o);
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(eventually([&] { return (*s)->timeline().samples.size() >= 2; }));
  s->reset();  // the destructor stops and joins
  auto k2 = make(3);
  ASSERT_TRUE(k2);
  k2->write_u64(k2->per_cpu_offset_kva(2), 0x4141414141414141ull);
  auto s2 = Sampler::start(k2->kernel(), o);
  ASSERT_TRUE(s2.ok());
  ASSERT_TRUE(eventually([&] { return (*s2)->latest().has_value(); }));
  (*s2)->stop();
  const Timeline t = (*s2)->timeline();
  const Sample& x = t.samples.front();
  EXPECT_EQ(x.step, 0u);
  EXPECT_EQ(x.cpus[0].error, "");
  EXPECT_NE(x.cpus[2].error, "");
  bool noted = false;
  for (const auto& n : t.notes) noted |= n.find("host_starved:") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(Sampler, StartNeedsAReader) {
  GuestKernel empty;
  EXPECT_FALSE(Sampler::start(empty, fast()).ok());
  auto k = make(1);
  ASSERT_TRUE(k);
  SamplerOptions o = fast();
  o.interval = 0ms;
  EXPECT_FALSE(Sampler::start(k->kernel(), o).ok());
}

}  // namespace
}  // namespace ktstr::monitor
