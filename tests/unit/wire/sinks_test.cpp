#include <gtest/gtest.h>
#include <poll.h>

#include <limits>
#include <thread>

#include "test_util.h"
#include "wire/kaslr.h"
#include "wire/latch.h"
#include "wire/request_queue.h"
#include "wire/scenario_timing.h"
#include "wire/sinks.h"

namespace ktstr::wire {
namespace {

using namespace std::chrono_literals;
using TimePoint = ScenarioTiming::TimePoint;
using Duration = ScenarioTiming::Duration;

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

TEST(Latch, FiresOnceAndStaysReadable) {
  Latch l;
  ASSERT_TRUE(l.open().ok());
  EXPECT_FALSE(l.is_set());
  EXPECT_FALSE(readable(l.fd()));
  EXPECT_TRUE(l.fire());
  EXPECT_FALSE(l.fire());
  EXPECT_TRUE(l.is_set());
  EXPECT_TRUE(readable(l.fd()));
  EXPECT_TRUE(readable(l.fd()));  // never drained: every waiter sees it
}

TEST(Latch, WakesAWaiterInAnotherThread) {
  Latch l;
  ASSERT_TRUE(l.open().ok());
  std::thread t([&] { l.fire(); });
  EXPECT_TRUE(l.wait_for(10s));
  t.join();
}

TEST(Latch, WaitTimesOutWhenNotFired) {
  Latch l;
  ASSERT_TRUE(l.open().ok());
  EXPECT_FALSE(l.wait_for(1ms));
}

TEST(Latch, FiredBeforeOpenIsReadableAfterOpen) {
  Latch l;
  l.fire();
  ASSERT_TRUE(l.open().ok());
  EXPECT_TRUE(readable(l.fd()));
}

TEST(RequestQueue, FdTracksEmptinessAndCapacityIsEnforced) {
  RequestQueue<int> q(2);
  ASSERT_TRUE(q.open().ok());
  EXPECT_FALSE(readable(q.fd()));
  EXPECT_TRUE(q.push(1));
  EXPECT_TRUE(q.push(2));
  EXPECT_FALSE(q.push(3));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_TRUE(readable(q.fd()));
  EXPECT_EQ(q.try_pop(), 1);
  EXPECT_TRUE(readable(q.fd()));
  EXPECT_EQ(q.try_pop(), 2);
  EXPECT_FALSE(readable(q.fd()));
  EXPECT_EQ(q.try_pop(), std::nullopt);
}

TEST(RequestQueue, PopForWaitsForAProducer) {
  RequestQueue<std::string> q(4);
  ASSERT_TRUE(q.open().ok());
  std::thread t([&] { q.push("hello"); });
  auto v = q.pop_for(10s);
  t.join();
  EXPECT_EQ(v, "hello");
  EXPECT_EQ(q.pop_for(1ms), std::nullopt);
}

TEST(PublishOnce, FirstWriterWins) {
  PublishOnce c;
  EXPECT_FALSE(c.get());
  EXPECT_EQ(c.publish(0), PublishOnce::Outcome::kPublished);  // zero is a value
  EXPECT_EQ(c.get(), 0u);
  EXPECT_EQ(c.publish(0), PublishOnce::Outcome::kSame);
  EXPECT_EQ(c.publish(5), PublishOnce::Outcome::kDiverged);
  EXPECT_EQ(c.get(), 0u);
}

TEST(PublishOnce, RacingWritersAgreeOnOneValue) {
  PublishOnce c;
  std::atomic<int> published{0};
  std::vector<std::thread> ts;
  for (uint64_t i = 1; i <= 8; ++i)
    ts.emplace_back([&, i] {
      if (c.publish(i) == PublishOnce::Outcome::kPublished) ++published;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(published.load(), 1);
  EXPECT_TRUE(c.get());
}

TEST(PublishOnce, RefusesTheUnstorableValue) {
  PublishOnce c;
  EXPECT_EQ(c.publish(std::numeric_limits<uint64_t>::max()), PublishOnce::Outcome::kDiverged);
  EXPECT_FALSE(c.get());
}

constexpr uint64_t kLink = 0xffffffff81000000;

TEST(KaslrOffset, Derived) {
  EXPECT_EQ(*derive_kaslr_offset(kLink, kLink), 0u);
  EXPECT_EQ(*derive_kaslr_offset(kLink, kLink + 0x2e00000), 0x2e00000u);
  EXPECT_EQ(*derive_kaslr_offset(kLink, kLink + kMaxKaslrOffset), kMaxKaslrOffset);
}

TEST(KaslrOffset, EachGateRejects) {
  EXPECT_FALSE(derive_kaslr_offset(0, kLink).ok());                                // unknown link
  EXPECT_FALSE(derive_kaslr_offset(0x7fffffff81000000, 0xffffffff81000000).ok());  // link low
  EXPECT_FALSE(derive_kaslr_offset(kKernelHalfStart, 0x00007fff00000000).ok());    // runtime low
  EXPECT_FALSE(derive_kaslr_offset(kLink, kLink - 0x1000).ok());                   // runtime < link
  EXPECT_FALSE(derive_kaslr_offset(kKernelHalfStart, kKernelHalfStart + kMaxKaslrOffset + 1).ok());
  EXPECT_TRUE(derive_kaslr_offset(kKernelHalfStart, kKernelHalfStart).ok());  // bound itself
}

// ---- scenario timing

TimePoint at(int64_t s) { return TimePoint(std::chrono::seconds(s)); }

TEST(ScenarioTiming, StartSetsDeadlineAndStampsOnce) {
  ScenarioTiming t;
  t.on_start(at(10), 5000);
  EXPECT_EQ(t.state().start, at(10));
  EXPECT_EQ(t.deadline(), at(15));
  t.on_start(at(20), 1000);  // a second scenario: new deadline, same start stamp
  EXPECT_EQ(t.state().start, at(10));
  EXPECT_EQ(t.deadline(), at(21));
}

TEST(ScenarioTiming, PauseResumeExtendsDeadlineByThePausedSpan) {
  ScenarioTiming t;
  t.on_start(at(10), 10'000);  // deadline 20
  t.on_pause(at(12));
  t.on_pause(at(13));  // already paused: the first stamp stays
  EXPECT_EQ(t.state().paused_at, at(12));
  t.on_resume(at(15));
  EXPECT_EQ(t.deadline(), at(23));
  EXPECT_EQ(t.state().total_paused, 3s);
  EXPECT_FALSE(t.state().paused_at);
  t.on_resume(at(16));  // not paused: ignored
  EXPECT_EQ(t.deadline(), at(23));
  t.on_pause(at(17));
  t.on_resume(at(18));
  EXPECT_EQ(t.state().total_paused, 4s);
  EXPECT_EQ(t.deadline(), at(24));
}

TEST(ScenarioTiming, EndClearsTheDeadlineAndClosesAPause) {
  ScenarioTiming t;
  t.on_start(at(10), 1000);
  t.on_pause(at(11));
  t.on_end(at(14));
  EXPECT_FALSE(t.deadline());
  EXPECT_FALSE(t.state().paused_at);
  EXPECT_EQ(t.state().total_paused, 3s);
  EXPECT_EQ(t.state().end, at(14));
  t.on_end(at(20));  // the first end stays
  EXPECT_EQ(t.state().end, at(14));
}

TEST(ScenarioTiming, EndBeforeAnyStartIsNotStamped) {
  ScenarioTiming t;
  t.on_end(at(3));
  EXPECT_FALSE(t.state().end);
}

TEST(ScenarioTiming, PauseWithoutDeadlineStillCounts) {
  ScenarioTiming t;
  t.on_pause(at(1));
  t.on_resume(at(2));
  EXPECT_EQ(t.state().total_paused, 1s);
  EXPECT_FALSE(t.deadline());
}

TEST(ScenarioTiming, HugeDurationSaturates) {
  ScenarioTiming t;
  t.on_start(at(10), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(t.deadline(), TimePoint::max());
  t.on_pause(at(11));
  t.on_resume(at(50));  // extending a saturated deadline stays saturated
  EXPECT_EQ(t.deadline(), TimePoint::max());
}

TEST(ScenarioTiming, DurationJustBelowOverflow) {
  ScenarioTiming t;
  uint64_t max_ms = static_cast<uint64_t>(Duration::max().count()) / 1'000'000;
  t.on_start(TimePoint(Duration(0)), max_ms);
  EXPECT_EQ(t.deadline()->time_since_epoch(), millis_saturating(max_ms));
  EXPECT_LT(*t.deadline(), TimePoint::max());
  t.on_start(TimePoint(Duration(0)), max_ms + 1);
  EXPECT_EQ(t.deadline(), TimePoint::max());
}

TEST(ScenarioTiming, CumulativePauseSaturates) {
  ScenarioTiming t;
  t.on_pause(TimePoint::min());
  t.on_resume(TimePoint::max());  // span larger than the representable range
  EXPECT_EQ(t.state().total_paused, Duration::max());
  t.on_pause(at(0));
  t.on_resume(at(100));
  EXPECT_EQ(t.state().total_paused, Duration::max());
}

TEST(ScenarioTiming, ClockGoingBackwardsAddsNothing) {
  ScenarioTiming t;
  t.on_start(at(10), 1000);
  t.on_pause(at(10));
  t.on_resume(at(5));
  EXPECT_EQ(t.state().total_paused, 0s);
  EXPECT_EQ(t.deadline(), at(11));
}

TEST(Saturating, Helpers) {
  EXPECT_EQ(saturating_add(TimePoint::max() - 1s, 2s), TimePoint::max());
  EXPECT_EQ(saturating_add(at(1), 2s), at(3));
  EXPECT_EQ(saturating_add(at(1), -2s), at(1));  // negative spans are ignored
  EXPECT_EQ(saturating_add(Duration::max(), Duration(1)), Duration::max());
  EXPECT_EQ(millis_saturating(1), 1ms);
  EXPECT_EQ(millis_saturating(std::numeric_limits<uint64_t>::max()), Duration::max());
}

// ---- warn-once and the warning cap

TEST(WarnOnce, OncePerKeyAndBounded) {
  WarnOnce w;
  EXPECT_TRUE(w.first(1));
  EXPECT_FALSE(w.first(1));
  for (uint32_t k = 2; k <= WarnOnce::kMaxRemembered; ++k) EXPECT_TRUE(w.first(k));
  EXPECT_FALSE(w.first(100000));  // full: no growth, no more warnings
  EXPECT_EQ(w.size(), WarnOnce::kMaxRemembered);
}

TEST(Sinks, WarningsAreCapped) {
  std::vector<std::string> lines;
  SinksConfig cfg;
  cfg.max_warnings = 3;
  cfg.log = [&](std::string_view l) { lines.emplace_back(l); };
  auto s = Sinks::create(std::move(cfg));
  ASSERT_TRUE(s.ok());
  for (int i = 0; i < 10; ++i) (*s)->warn("w" + std::to_string(i));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[2], "w2");
  EXPECT_NE(lines[3].find("suppressed"), std::string::npos);
  EXPECT_EQ((*s)->warnings(), 10u);
}

TEST(Sinks, CreateOpensEveryFd) {
  auto s = Sinks::create();
  ASSERT_TRUE(s.ok());
  EXPECT_GE((*s)->kill.fd(), 0);
  EXPECT_GE((*s)->boot_complete.fd(), 0);
  EXPECT_GE((*s)->snapshot_requests.fd(), 0);
  EXPECT_GE((*s)->kernel_op_requests.fd(), 0);
  EXPECT_GE((*s)->kallsyms.fd(), 0);
  // The default clock is the steady clock.
  auto before = ScenarioTiming::Clock::now();
  EXPECT_GE((*s)->now(), before);
}

}  // namespace
}  // namespace ktstr::wire
