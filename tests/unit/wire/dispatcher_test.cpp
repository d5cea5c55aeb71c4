#include <gtest/gtest.h>
#include <poll.h>

#include "test_util.h"
#include "wire/dispatcher.h"
#include "wire/messages.h"
#include "wire/utf8.h"

namespace ktstr::wire {
namespace {

using namespace test;
using namespace std::chrono_literals;

constexpr uint64_t kLink = 0xffffffff81000000;
constexpr uint64_t kPob = 0xffff888000000000;

bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

Bytes kern_addrs(std::optional<uint64_t> phys, uint64_t pob, std::optional<uint64_t> text) {
  return encode(KernAddrs{phys, pob, text});
}

Bytes ok_bytes(Result<Bytes> r) {
  EXPECT_TRUE(r.ok());
  return r.ok() ? std::move(r).value() : Bytes{};
}

Bytes snapshot(uint64_t id, SnapshotKind kind, std::string tag) {
  return ok_bytes(encode(SnapshotRequest{id, kind, std::move(tag)}));
}

KernelOpRequest op_with_tag(std::string tag) {
  return KernelOpRequest{77, KernelOp::kRead, KernelTarget::kSymbol, 8, 0, 0, 0, 0, "jiffies",
                         "", std::move(tag)};
}

Bytes kernel_op(std::string tag) { return ok_bytes(encode(op_with_tag(tag))); }

// ---- SYS_RDY

TEST(Dispatch, SysRdyFiresBootCompleteAndIsNotVerdictData) {
  TestEnv env;
  auto& s = *env.sinks;
  EXPECT_FALSE(dispatch(make_frame(MsgType::kSysRdy, {}), s));
  EXPECT_TRUE(s.boot_complete.is_set());
  EXPECT_TRUE(readable(s.boot_complete.fd()));
}

TEST(Dispatch, ResentSysRdyDoesNothing) {
  TestEnv env;
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kSysRdy, {}), s);
  EXPECT_FALSE(dispatch(make_frame(MsgType::kSysRdy, {}), s));
  EXPECT_EQ(s.dropped.duplicate.load(), 1u);
  EXPECT_TRUE(s.boot_complete.is_set());
  EXPECT_FALSE(s.kill.is_set());
}

TEST(Dispatch, SysRdyWithPayloadIsIgnored) {
  TestEnv env;
  auto& s = *env.sinks;
  EXPECT_FALSE(dispatch(make_frame(MsgType::kSysRdy, bytes_of("x")), s));
  EXPECT_FALSE(s.boot_complete.is_set());
  EXPECT_FALSE(readable(s.boot_complete.fd()));
  EXPECT_EQ(s.dropped.malformed.load(), 1u);
}

TEST(Dispatch, SysRdyWithBadCrcIsIgnored) {
  TestEnv env;
  auto& s = *env.sinks;
  EXPECT_FALSE(dispatch(make_frame(MsgType::kSysRdy, {}, false), s));
  EXPECT_FALSE(s.boot_complete.is_set());
  EXPECT_EQ(s.dropped.bad_crc.load(), 1u);
}

// ---- SCHED_EXIT

TEST(Dispatch, SchedExitKillsTheRunAndIsKept) {
  TestEnv env;
  auto& s = *env.sinks;
  Bytes p = encode(SchedExit{1, "stall"});
  auto v = dispatch(make_frame(MsgType::kSchedExit, p), s);
  ASSERT_TRUE(v);
  EXPECT_TRUE(v->crc_ok);
  EXPECT_EQ(v->payload, p);
  EXPECT_TRUE(s.kill.is_set());
  EXPECT_TRUE(readable(s.kill.fd()));
}

TEST(Dispatch, SchedExitWithBadCrcIsNeitherPromotedNorKept) {
  TestEnv env;
  auto& s = *env.sinks;
  EXPECT_FALSE(dispatch(make_frame(MsgType::kSchedExit, encode(SchedExit{1, "x"}), false), s));
  EXPECT_FALSE(s.kill.is_set());
  EXPECT_FALSE(readable(s.kill.fd()));
  EXPECT_EQ(s.dropped.bad_crc.load(), 1u);
}

// ---- KERN_ADDRS

TEST(Dispatch, KernAddrsPublishesEverything) {
  TestEnv env(kLink);
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(0x2000000, kPob, kLink + 0x1e00000)), s);
  EXPECT_EQ(s.kaslr.phys_base.get(), 0x2000000u);
  EXPECT_EQ(s.kaslr.page_offset_base.get(), kPob);
  EXPECT_EQ(s.kaslr.kaslr_offset.get(), 0x1e00000u);
  EXPECT_EQ(s.kaslr.divergence_errors.load(), 0u);
}

TEST(Dispatch, KernAddrsWithBadCrcPublishesNothing) {
  TestEnv env(kLink);
  auto& s = *env.sinks;
  auto v = dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(1, kPob, kLink), false), s);
  EXPECT_FALSE(s.kaslr.phys_base.get());
  EXPECT_FALSE(s.kaslr.page_offset_base.get());
  EXPECT_FALSE(s.kaslr.kaslr_offset.get());
  ASSERT_TRUE(v);  // non-internal: kept, flagged
  EXPECT_FALSE(v->crc_ok);
}

TEST(Dispatch, KernAddrsWrongSizePublishesNothing) {
  TestEnv env(kLink);
  auto& s = *env.sinks;
  for (size_t n : {0, 23, 25, 48}) {
    Bytes p = kern_addrs(1, kPob, kLink);
    p.resize(n, 0x11);
    dispatch(make_frame(MsgType::kKernAddrs, p), s);
  }
  EXPECT_FALSE(s.kaslr.phys_base.get());
  EXPECT_FALSE(s.kaslr.kaslr_offset.get());
  EXPECT_EQ(s.dropped.malformed.load(), 4u);
}

TEST(Dispatch, KernAddrsUnknownFieldsAreNotPublished) {
  TestEnv env(kLink);
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(std::nullopt, 0, std::nullopt)), s);
  EXPECT_FALSE(s.kaslr.phys_base.get());
  EXPECT_FALSE(s.kaslr.page_offset_base.get());
  EXPECT_FALSE(s.kaslr.kaslr_offset.get());
  // phys_base 0 is a real value (sent as 1).
  dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(0, 0, std::nullopt)), s);
  EXPECT_EQ(s.kaslr.phys_base.get(), 0u);
}

TEST(Dispatch, KaslrOffsetNeedsTheLinkAddress) {
  TestEnv env(/*link_text=*/0);
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(1, kPob, kLink)), s);
  EXPECT_TRUE(s.kaslr.phys_base.get());
  EXPECT_FALSE(s.kaslr.kaslr_offset.get());
}

struct Gate {
  const char* name;
  uint64_t link;
  uint64_t runtime;
};

TEST(Dispatch, ForgedKaslrValuesFailEachGate) {
  for (Gate g : {Gate{"link below canonical", 0x00007fff81000000, kLink},
                 Gate{"runtime below bound", kKernelHalfStart, 0x00007fffffff0000},
                 Gate{"runtime below link", kLink, kLink - 0x200000},
                 Gate{"offset above 1 GiB", kLink, kLink + kMaxKaslrOffset + 0x1000}}) {
    TestEnv env(g.link);
    auto& s = *env.sinks;
    dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(1, kPob, g.runtime)), s);
    EXPECT_FALSE(s.kaslr.kaslr_offset.get()) << g.name;
    EXPECT_EQ(s.kaslr.rejected.load(), 1u) << g.name;
    EXPECT_EQ(s.kaslr.phys_base.get(), 1u) << g.name;  // other fields still publish
  }
}

TEST(Dispatch, KaslrOffsetOfExactly1GiBIsAccepted) {
  TestEnv env(kLink);
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(1, kPob, kLink + kMaxKaslrOffset)), s);
  EXPECT_EQ(s.kaslr.kaslr_offset.get(), kMaxKaslrOffset);
}

TEST(Dispatch, PageOffsetBaseBelowKernelHalfIsRejected) {
  TestEnv env(kLink);
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(1, 0x1000, kLink)), s);
  EXPECT_FALSE(s.kaslr.page_offset_base.get());
  EXPECT_EQ(s.kaslr.rejected.load(), 1u);
}

TEST(Dispatch, PageOffsetBaseWithFiveLevelPagingIsAccepted) {
  TestEnv env(kLink);
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(1, 0xff11000000000000, kLink)), s);
  EXPECT_EQ(s.kaslr.page_offset_base.get(), 0xff11000000000000u);
  TestEnv env2(kLink);
  dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(1, 0xfeffffffffffffff, kLink)), *env2.sinks);
  EXPECT_FALSE(env2.sinks->kaslr.page_offset_base.get());
  EXPECT_EQ(env2.sinks->kaslr.rejected.load(), 1u);
}

TEST(Dispatch, DivergentSecondKernAddrsIsLoggedAndIgnored) {
  TestEnv env(kLink);
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(0x1000, kPob, kLink + 0x200000)), s);
  size_t lines = env.log_lines();
  dispatch(make_frame(MsgType::kKernAddrs, kern_addrs(0x2000, kPob + 0x40000000, kLink + 0x400000)),
           s);
  EXPECT_EQ(s.kaslr.divergence_errors.load(), 3u);  // all three cells
  EXPECT_EQ(env.log_lines(), lines + 3);
  EXPECT_TRUE(env.log_contains("divergence"));
  EXPECT_EQ(s.kaslr.phys_base.get(), 0x1000u);  // first writer wins
  EXPECT_EQ(s.kaslr.page_offset_base.get(), kPob);
  EXPECT_EQ(s.kaslr.kaslr_offset.get(), 0x200000u);
}

TEST(Dispatch, EqualSecondKernAddrsIsSilent) {
  TestEnv env(kLink);
  auto& s = *env.sinks;
  Bytes p = kern_addrs(0x1000, kPob, kLink + 0x200000);
  dispatch(make_frame(MsgType::kKernAddrs, p), s);
  dispatch(make_frame(MsgType::kKernAddrs, p), s);
  EXPECT_EQ(s.kaslr.divergence_errors.load(), 0u);
  EXPECT_EQ(env.log_lines(), 0u);
}

// ---- SNAPSHOT_REQUEST

TEST(Dispatch, SnapshotRequestIsQueuedNotKept) {
  TestEnv env;
  auto& s = *env.sinks;
  EXPECT_FALSE(
      dispatch(make_frame(MsgType::kSnapshotRequest, snapshot(5, SnapshotKind::kWatch, "tag")), s));
  EXPECT_TRUE(readable(s.snapshot_requests.fd()));
  auto r = s.snapshot_requests.try_pop();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (SnapshotRequest{5, SnapshotKind::kWatch, "tag"}));
}

TEST(Dispatch, SnapshotRequestRejections) {
  TestEnv env;
  auto& s = *env.sinks;
  Bytes good = snapshot(5, SnapshotKind::kCapture, "t");
  dispatch(make_frame(MsgType::kSnapshotRequest, good, /*crc_ok=*/false), s);
  Bytes short_p = good;
  short_p.pop_back();
  dispatch(make_frame(MsgType::kSnapshotRequest, short_p), s);
  Bytes long_p = good;
  long_p.push_back(0);
  dispatch(make_frame(MsgType::kSnapshotRequest, long_p), s);
  Bytes zero_id = good;
  std::fill(zero_id.begin(), zero_id.begin() + 8, 0);
  dispatch(make_frame(MsgType::kSnapshotRequest, zero_id), s);
  Bytes bad_kind = good;
  bad_kind[8] = 3;
  dispatch(make_frame(MsgType::kSnapshotRequest, bad_kind), s);
  Bytes long_tag = good;
  long_tag[12] = 65;
  dispatch(make_frame(MsgType::kSnapshotRequest, long_tag), s);
  EXPECT_EQ(s.snapshot_requests.size(), 0u);
  EXPECT_EQ(s.dropped.bad_crc.load(), 1u);
  EXPECT_EQ(s.dropped.malformed.load(), 5u);
}

TEST(Dispatch, FullQueueDropsAndCounts) {
  TestEnv env(0, /*queue_capacity=*/2);
  auto& s = *env.sinks;
  for (uint64_t id = 1; id <= 3; ++id)
    dispatch(make_frame(MsgType::kSnapshotRequest, snapshot(id, SnapshotKind::kCapture, "")), s);
  EXPECT_EQ(s.snapshot_requests.size(), 2u);
  EXPECT_EQ(s.dropped.queue_full.load(), 1u);
}

// ---- KERNEL_OP_REQUEST

TEST(Dispatch, KernelOpRequestIsQueuedNotKept) {
  TestEnv env;
  auto& s = *env.sinks;
  EXPECT_FALSE(dispatch(make_frame(MsgType::kKernelOpRequest, kernel_op("read jiffies")), s));
  auto r = s.kernel_op_requests.try_pop();
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, op_with_tag("read jiffies"));
}

TEST(Dispatch, KernelOpRequestBadCrcOrUndecodableIsDropped) {
  TestEnv env;
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kKernelOpRequest, kernel_op("t"), false), s);
  Bytes cut = kernel_op("t");
  cut.pop_back();
  dispatch(make_frame(MsgType::kKernelOpRequest, cut), s);
  EXPECT_EQ(s.kernel_op_requests.size(), 0u);
  EXPECT_EQ(s.dropped.bad_crc.load(), 1u);
  EXPECT_EQ(s.dropped.malformed.load(), 1u);
}

std::string queued_tag(TestEnv& env, const std::string& tag) {
  dispatch(make_frame(MsgType::kKernelOpRequest, kernel_op(tag)), *env.sinks);
  auto r = env.sinks->kernel_op_requests.try_pop();
  EXPECT_TRUE(r);
  return r ? r->tag : "";
}

TEST(Dispatch, KernelOpTagIsTruncatedTo256) {
  TestEnv env;
  EXPECT_EQ(queued_tag(env, std::string(300, 'x')), std::string(256, 'x'));
  EXPECT_EQ(queued_tag(env, std::string(256, 'y')), std::string(256, 'y'));
}

TEST(Dispatch, KernelOpTagNeverSplitsAFourByteCharacter) {
  TestEnv env;
  const std::string emoji = "\xF0\x9F\x98\x80";
  // Bytes 253..256 hold the character: it crosses the 256 limit, so it goes.
  std::string tag = queued_tag(env, std::string(253, 'a') + emoji + "zz");
  EXPECT_EQ(tag, std::string(253, 'a'));
  EXPECT_TRUE(is_valid_utf8(tag));
  // Bytes 252..255: it fits exactly.
  EXPECT_EQ(queued_tag(env, std::string(252, 'a') + emoji + "zz"), std::string(252, 'a') + emoji);
}

TEST(Dispatch, KernelOpNonUtf8TagIsSanitised) {
  TestEnv env;
  std::string tag = queued_tag(env,
                               "ok\xFF\xC0\x80"
                               "end");
  EXPECT_EQ(tag,
            "ok\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"
            "end");
  EXPECT_TRUE(is_valid_utf8(tag));
  std::string all_bad = queued_tag(env, std::string(200, '\xFF'));
  EXPECT_TRUE(is_valid_utf8(all_bad));
  EXPECT_EQ(all_bad.size(), 255u);  // 85 replacement characters; an 86th would cross 256
}

// ---- KALLSYMS and host-to-guest types

TEST(Dispatch, KallsymsIsQueuedForTheMonitorNotKept) {
  TestEnv env;
  auto& s = *env.sinks;
  EXPECT_FALSE(dispatch(make_frame(MsgType::kKallsyms, bytes_of("zstd blob")), s));
  EXPECT_FALSE(dispatch(make_frame(MsgType::kKallsyms, bytes_of("corrupt"), false), s));
  EXPECT_EQ(s.kallsyms.size(), 1u);
  EXPECT_EQ(s.kallsyms.try_pop(), bytes_of("zstd blob"));
  EXPECT_EQ(s.dropped.bad_crc.load(), 1u);
}

TEST(Dispatch, RepliesFromTheGuestAreDropped) {
  TestEnv env;
  auto& s = *env.sinks;
  EXPECT_FALSE(dispatch(make_frame(MsgType::kSnapshotReply, encode(SnapshotReply{1, 0, ""})), s));
  EXPECT_FALSE(
      dispatch(make_frame(MsgType::kKernelOpReply, encode(KernelOpReply{1, 0, 0, ""})), s));
  EXPECT_FALSE(
      dispatch(make_frame(MsgType::kKernelOpReply, encode(KernelOpReply{2, 0, 0, ""})), s));
  EXPECT_EQ(s.dropped.wrong_direction.load(), 3u);
  EXPECT_EQ(env.log_lines(), 2u);  // once per type
}

TEST(Dispatch, InternalTypesAreNeverVerdictData) {
  TestEnv env;
  auto& s = *env.sinks;
  for (MsgType t : all_types()) {
    if (!is_coordinator_internal(t)) continue;
    for (bool crc : {true, false})
      for (const Bytes& p : {Bytes{}, bytes_of("junk"), random_bytes(80, 1)})
        EXPECT_FALSE(dispatch(make_frame(t, p, crc), s)) << type_name(static_cast<uint32_t>(t));
  }
}

// ---- scenario timing

Bytes scenario_start(uint64_t ms, std::string name = "s") {
  return ok_bytes(encode(ScenarioStart{ms, std::move(name)}));
}

TEST(Dispatch, ScenarioStartStampsOnceAndSetsTheDeadline) {
  TestEnv env;
  auto& s = *env.sinks;
  auto t0 = env.now;
  auto v = dispatch(make_frame(MsgType::kScenarioStart, scenario_start(5000)), s);
  ASSERT_TRUE(v);  // verdict data
  EXPECT_EQ(s.timing.state().start, t0);
  EXPECT_EQ(s.timing.deadline(), t0 + 5s);
  env.now += 10s;
  dispatch(make_frame(MsgType::kScenarioStart, scenario_start(1000)), s);
  EXPECT_EQ(s.timing.state().start, t0);          // stamped once
  EXPECT_EQ(s.timing.deadline(), t0 + 10s + 1s);  // deadline reset
}

TEST(Dispatch, ScenarioStartWithBadCrcOrShortPayloadHasNoEffect) {
  TestEnv env;
  auto& s = *env.sinks;
  auto v = dispatch(make_frame(MsgType::kScenarioStart, scenario_start(5000), false), s);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->crc_ok);
  EXPECT_TRUE(dispatch(make_frame(MsgType::kScenarioStart, Bytes{1, 2, 3}), s));
  EXPECT_FALSE(s.timing.state().start);
  EXPECT_FALSE(s.timing.deadline());
}

TEST(Dispatch, PauseResumeExtendTheDeadline) {
  TestEnv env;
  auto& s = *env.sinks;
  auto t0 = env.now;
  dispatch(make_frame(MsgType::kScenarioStart, scenario_start(10'000)), s);
  env.now += 2s;
  EXPECT_TRUE(dispatch(make_frame(MsgType::kScenarioPause, {}), s));
  env.now += 3s;
  EXPECT_TRUE(dispatch(make_frame(MsgType::kScenarioResume, {}), s));
  EXPECT_EQ(s.timing.deadline(), t0 + 13s);
  EXPECT_EQ(s.timing.state().total_paused, 3s);
}

TEST(Dispatch, PauseResumeWithBadCrcOrPayloadAreIgnoredButKept) {
  TestEnv env;
  auto& s = *env.sinks;
  auto t0 = env.now;
  dispatch(make_frame(MsgType::kScenarioStart, scenario_start(10'000)), s);
  auto v = dispatch(make_frame(MsgType::kScenarioPause, {}, false), s);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->crc_ok);
  EXPECT_TRUE(dispatch(make_frame(MsgType::kScenarioPause, bytes_of("x")), s));
  EXPECT_FALSE(s.timing.state().paused_at);
  dispatch(make_frame(MsgType::kScenarioPause, {}), s);
  env.now += 4s;
  dispatch(make_frame(MsgType::kScenarioResume, {}, false), s);  // forged resume
  EXPECT_TRUE(s.timing.state().paused_at);
  dispatch(make_frame(MsgType::kScenarioResume, {}), s);
  EXPECT_EQ(s.timing.deadline(), t0 + 14s);
}

TEST(Dispatch, ScenarioEndClearsTheDeadline) {
  TestEnv env;
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kScenarioStart, scenario_start(10'000)), s);
  dispatch(make_frame(MsgType::kScenarioEnd, {}, false), s);
  EXPECT_TRUE(s.timing.deadline());  // bad CRC: no effect
  EXPECT_TRUE(dispatch(make_frame(MsgType::kScenarioEnd, {}), s));
  EXPECT_FALSE(s.timing.deadline());
}

TEST(Dispatch, HugeWorkloadDurationSaturates) {
  TestEnv env;
  auto& s = *env.sinks;
  dispatch(make_frame(MsgType::kScenarioStart, scenario_start(~0ull)), s);
  EXPECT_EQ(s.timing.deadline(), ScenarioTiming::TimePoint::max());
}

// ---- STIMULUS

TEST(Dispatch, StimulusUpdatesTheStepMirrorAndIsKept) {
  TestEnv env;
  auto& s = *env.sinks;
  auto v = dispatch(make_frame(MsgType::kStimulus, encode(Stimulus{4, 1, 2, 3, 100, 0})), s);
  ASSERT_TRUE(v);
  EXPECT_EQ(s.step_index.load(), 4u);
  v = dispatch(make_frame(MsgType::kStimulus, encode(Stimulus{9, 1, 2, 3, 100, 0}), false), s);
  ASSERT_TRUE(v);
  EXPECT_FALSE(v->crc_ok);
  EXPECT_EQ(s.step_index.load(), 4u);  // bad CRC: mirror untouched
  Bytes short_p = encode(Stimulus{7, 0, 0, 0, 0, 0});
  short_p.pop_back();
  EXPECT_TRUE(dispatch(make_frame(MsgType::kStimulus, short_p), s));
  EXPECT_EQ(s.step_index.load(), 4u);
}

// ---- bad CRC, type by type

// A well-formed payload for every type, so only the CRC is wrong.
Bytes valid_payload(MsgType t) {
  switch (t) {
    case MsgType::kKernAddrs:
      return kern_addrs(1, kPob, kLink + 0x200000);
    case MsgType::kSchedExit:
      return encode(SchedExit{1, "x"});
    case MsgType::kScenarioStart:
      return scenario_start(1000);
    case MsgType::kStimulus:
      return encode(Stimulus{5, 1, 1, 1, 1, 0});
    case MsgType::kExit:
      return encode(ExitStatus{0});
    case MsgType::kLifecycle:
      return encode(Lifecycle{LifecyclePhase::kMounted, ""});
    case MsgType::kSnapshotRequest:
      return snapshot(1, SnapshotKind::kCapture, "t");
    case MsgType::kSnapshotReply:
      return encode(SnapshotReply{1, 0, ""});
    case MsgType::kKernelOpRequest:
      return kernel_op("t");
    case MsgType::kKernelOpReply:
      return encode(KernelOpReply{1, 0, 0, ""});
    case MsgType::kKallsyms:
      return bytes_of("blob");
    default:
      return {};  // SYS_RDY, PAUSE/RESUME/END: empty; text types: anything
  }
}

TEST(Dispatch, BadCrcHasNoSideEffectForAnyType) {
  for (MsgType t : all_types()) {
    TestEnv env(kLink);
    auto& s = *env.sinks;
    if (t == MsgType::kScenarioResume || t == MsgType::kScenarioEnd) {
      // Give them something to change: a running, paused scenario.
      dispatch(make_frame(MsgType::kScenarioStart, scenario_start(1000)), s);
      dispatch(make_frame(MsgType::kScenarioPause, {}), s);
    }
    auto before = s.timing.state();
    env.now += std::chrono::seconds(5);
    dispatch(make_frame(t, valid_payload(t), /*crc_ok=*/false), s);
    const char* name = type_name(static_cast<uint32_t>(t)).data();
    EXPECT_FALSE(s.kill.is_set()) << name;
    EXPECT_FALSE(s.boot_complete.is_set()) << name;
    EXPECT_FALSE(s.kaslr.phys_base.get()) << name;
    EXPECT_FALSE(s.kaslr.page_offset_base.get()) << name;
    EXPECT_FALSE(s.kaslr.kaslr_offset.get()) << name;
    EXPECT_EQ(s.snapshot_requests.size(), 0u) << name;
    EXPECT_EQ(s.kernel_op_requests.size(), 0u) << name;
    EXPECT_EQ(s.kallsyms.size(), 0u) << name;
    EXPECT_EQ(s.step_index.load(), 0u) << name;
    auto after = s.timing.state();
    EXPECT_EQ(after.start, before.start) << name;
    EXPECT_EQ(after.paused_at, before.paused_at) << name;
    EXPECT_EQ(after.deadline, before.deadline) << name;
    EXPECT_EQ(after.total_paused, before.total_paused) << name;
  }
}

TEST(Dispatch, ValidPayloadsDoHaveTheirEffect) {
  // The same payloads with a good CRC: proves the test above can fail.
  TestEnv env(kLink);
  auto& s = *env.sinks;
  for (MsgType t : all_types()) dispatch(make_frame(t, valid_payload(t)), s);
  EXPECT_TRUE(s.kill.is_set());
  EXPECT_TRUE(s.boot_complete.is_set());
  EXPECT_TRUE(s.kaslr.kaslr_offset.get());
  EXPECT_EQ(s.snapshot_requests.size(), 1u);
  EXPECT_EQ(s.kernel_op_requests.size(), 1u);
  EXPECT_EQ(s.kallsyms.size(), 1u);
  EXPECT_EQ(s.step_index.load(), 5u);
  EXPECT_TRUE(s.timing.state().start);
}

// ---- verdict data and unknown types

TEST(Dispatch, VerdictTypesAreKeptEvenWithBadCrc) {
  for (MsgType t :
       {MsgType::kTestResult, MsgType::kExit, MsgType::kCrash, MsgType::kPayloadMetrics,
        MsgType::kStdout, MsgType::kStderr, MsgType::kSchedLog, MsgType::kLifecycle,
        MsgType::kDmesg, MsgType::kKernAddrs, MsgType::kStimulus, MsgType::kScenarioStart,
        MsgType::kScenarioPause, MsgType::kScenarioResume, MsgType::kScenarioEnd}) {
    TestEnv env;
    for (bool crc : {true, false}) {
      Bytes p = bytes_of("payload");
      auto v = dispatch(make_frame(t, p, crc), *env.sinks);
      ASSERT_TRUE(v) << type_name(static_cast<uint32_t>(t));
      EXPECT_EQ(v->msg_type, static_cast<uint32_t>(t));
      EXPECT_EQ(v->payload, p);
      EXPECT_EQ(v->crc_ok, crc);
      EXPECT_EQ(v->received, env.now);
    }
    EXPECT_FALSE(env.sinks->kill.is_set());
  }
}

TEST(Dispatch, MoveOverloadTakesThePayload) {
  TestEnv env;
  Frame f = make_frame(MsgType::kStdout, random_bytes(1000, 3));
  Bytes copy = f.payload;
  auto v = dispatch(std::move(f), *env.sinks);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->payload, copy);
}

TEST(Dispatch, UnknownTypesAreWarnedOncePerTypeAndDropped) {
  TestEnv env;
  auto& s = *env.sinks;
  EXPECT_FALSE(dispatch(Frame{0x41414141, bytes_of("a"), true}, s));
  EXPECT_FALSE(dispatch(Frame{0x41414141, bytes_of("b"), false}, s));
  EXPECT_EQ(env.log_lines(), 1u);
  EXPECT_TRUE(env.log_contains("UNKNOWN(0x41414141)"));
  EXPECT_FALSE(dispatch(Frame{0x42424242, {}, true}, s));
  EXPECT_EQ(env.log_lines(), 2u);
  EXPECT_EQ(s.dropped.unknown_type.load(), 3u);
}

TEST(Dispatch, ManyUnknownTypesCannotFloodTheLog) {
  TestEnv env;
  for (uint32_t t = 0; t < 10000; ++t) dispatch(Frame{0x10000000 + t, {}, true}, *env.sinks);
  EXPECT_EQ(env.log_lines(), WarnOnce::kMaxRemembered);
  EXPECT_EQ(env.sinks->dropped.unknown_type.load(), 10000u);
}

// ---- end to end: writer-side encoding -> assembler -> dispatcher

TEST(Dispatch, EndToEndThroughTheAssembler) {
  TestEnv env(kLink);
  auto& s = *env.sinks;
  Bytes stream;
  append(stream, good_frame(MsgType::kSysRdy, {}));
  append(stream, good_frame(MsgType::kKernAddrs, kern_addrs(0, kPob, kLink + 0x400000)));
  append(stream, good_frame(MsgType::kScenarioStart, scenario_start(2000)));
  append(stream, good_frame(MsgType::kStimulus, encode(Stimulus{1, 2, 1, 4, 0, 0})));
  append(stream, good_frame(MsgType::kStdout, bytes_of("out")));
  append(stream, bad_crc_frame(MsgType::kSchedExit, encode(SchedExit{2, "forged"})));
  append(stream, good_frame(MsgType::kSnapshotRequest, snapshot(3, SnapshotKind::kCapture, "c")));
  append(stream, good_frame(MsgType::kExit, encode(ExitStatus{0})));
  Assembler a;
  std::vector<VerdictEntry> verdict;
  for (auto& f : feed_randomly(a, stream, 99, 13))
    if (auto v = dispatch(std::move(f), s)) verdict.push_back(std::move(*v));
  EXPECT_TRUE(s.boot_complete.is_set());
  EXPECT_FALSE(s.kill.is_set());
  EXPECT_EQ(s.kaslr.kaslr_offset.get(), 0x400000u);
  EXPECT_EQ(s.step_index.load(), 1u);
  EXPECT_EQ(s.snapshot_requests.size(), 1u);
  ASSERT_EQ(verdict.size(), 5u);  // KADR, SCST, STIM, SOUT, EXIT
  EXPECT_EQ(verdict[3].payload, bytes_of("out"));
  EXPECT_EQ(verdict[4].msg_type, static_cast<uint32_t>(MsgType::kExit));
}

}  // namespace
}  // namespace ktstr::wire
