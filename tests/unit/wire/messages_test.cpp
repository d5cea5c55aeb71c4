#include <gtest/gtest.h>

#include <limits>

#include "test_util.h"
#include "wire/messages.h"

namespace ktstr::wire {
namespace {

using namespace test;

template <typename T>
T decoded(Result<T> r) {
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message());
  return r.ok() ? std::move(r).value() : T{};
}

template <typename T>
void expect_protocol_error(const Result<T>& r, std::string_view needle) {
  ASSERT_FALSE(r.ok()) << "expected an error mentioning " << needle;
  EXPECT_EQ(r.error().code(), Errc::kProtocol);
  EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
}

Bytes resized(Bytes b, size_t n) {
  b.resize(n);
  return b;
}

// ---- KERN_ADDRS

TEST(KernAddrs, LayoutIsBiasedLittleEndian) {
  KernAddrs m{0x1000000, 0xffff888000000000, 0xffffffff81000000};
  Bytes b = encode(m);
  ASSERT_EQ(b.size(), kKernAddrsSize);
  Bytes want = {0x01, 0, 0, 0x01, 0,    0,    0,    0,      // phys_base + 1
                0,    0, 0, 0,    0x80, 0x88, 0xff, 0xff,   // page_offset_base
                0x01, 0, 0, 0x81, 0xff, 0xff, 0xff, 0xff};  // _text + 1
  EXPECT_EQ(b, want);
  EXPECT_EQ(decoded(decode_kern_addrs(b)), m);
}

TEST(KernAddrs, ZeroMeansUnknown) {
  KernAddrs unknown;
  Bytes b = encode(unknown);
  EXPECT_EQ(b, Bytes(24, 0));
  KernAddrs d = decoded(decode_kern_addrs(b));
  EXPECT_FALSE(d.phys_base);
  EXPECT_FALSE(d.kernel_text);
  EXPECT_EQ(d.page_offset_base, 0u);
  // A real zero phys_base survives the bias.
  KernAddrs zero{0, 0, 0};
  EXPECT_EQ(decoded(decode_kern_addrs(encode(zero))), zero);
}

TEST(KernAddrs, WrongSizesAreRejected) {
  Bytes b = encode(KernAddrs{1, 2, 3});
  expect_protocol_error(decode_kern_addrs(resized(b, 23)), "expected 24");
  expect_protocol_error(decode_kern_addrs(resized(b, 25)), "expected 24");
  expect_protocol_error(decode_kern_addrs({}), "KERN_ADDRS");
}

// ---- small fixed and text-tailed messages

TEST(Messages, ExitRoundTripsNegativeAndSignalCodes) {
  for (int32_t st : {0, 1, 128 + 9, -1, std::numeric_limits<int32_t>::min()}) {
    Bytes b = encode(ExitStatus{st});
    ASSERT_EQ(b.size(), kExitStatusSize);
    EXPECT_EQ(decoded(decode_exit(b)).status, st);
  }
  expect_protocol_error(decode_exit(Bytes{1, 2, 3}), "EXIT");
  expect_protocol_error(decode_exit(Bytes{1, 2, 3, 4, 5}), "EXIT");
}

TEST(Messages, LifecycleRoundTripsEveryPhase) {
  for (uint32_t p = 1; p <= 9; ++p) {
    Lifecycle m{static_cast<LifecyclePhase>(p), "detail " + std::to_string(p)};
    EXPECT_EQ(decoded(decode_lifecycle(encode(m))), m);
    EXPECT_NE(phase_name(m.phase), "unknown");
  }
  Lifecycle empty{LifecyclePhase::kPoweroff, ""};
  EXPECT_EQ(encode(empty).size(), kLifecycleFixedSize);
}

TEST(Messages, LifecycleRejectsUnknownPhaseAndShortPayload) {
  expect_protocol_error(decode_lifecycle(Bytes{0, 0, 0, 0}), "unknown phase 0");
  expect_protocol_error(decode_lifecycle(Bytes{10, 0, 0, 0}), "unknown phase 10");
  expect_protocol_error(decode_lifecycle(Bytes{1, 0, 0}), "at least 4");
}

TEST(Messages, StimulusIsFixed32Bytes) {
  Stimulus m{3, 4, 5, 6, 0x1122334455667788, 42};
  Bytes b = encode(m);
  ASSERT_EQ(b.size(), kStimulusSize);
  EXPECT_EQ(b[0], 3);
  EXPECT_EQ(b[16], 0x88);  // total_iterations, little-endian
  EXPECT_EQ(decoded(decode_stimulus(b)), m);
  expect_protocol_error(decode_stimulus(resized(b, 31)), "expected 32");
  expect_protocol_error(decode_stimulus(resized(b, 33)), "expected 32");
}

TEST(Messages, ScenarioStartRoundTripsAndBoundsTheName) {
  ScenarioStart m{1500, "cpu_hog"};
  Bytes b = decoded(encode(m));
  EXPECT_EQ(b.size(), kScenarioStartFixedSize + 7);
  EXPECT_EQ(decoded(decode_scenario_start(b)), m);
  ScenarioStart longest{1, std::string(kScenarioNameMax, 'n')};
  EXPECT_EQ(decoded(decode_scenario_start(decoded(encode(longest)))), longest);
  ScenarioStart too_long{1, std::string(kScenarioNameMax + 1, 'n')};
  EXPECT_FALSE(encode(too_long).ok());
  Bytes forged = decoded(encode(longest));
  forged.push_back('x');
  expect_protocol_error(decode_scenario_start(forged), "name longer");
  expect_protocol_error(decode_scenario_start(Bytes(7, 0)), "at least 8");
}

TEST(Messages, SchedExitRoundTrips) {
  SchedExit m{-2, "scx_bpf_error: stall on cpu 3"};
  EXPECT_EQ(decoded(decode_sched_exit(encode(m))), m);
  EXPECT_EQ(decoded(decode_sched_exit(Bytes{5, 0, 0, 0})), (SchedExit{5, ""}));
  expect_protocol_error(decode_sched_exit(Bytes{5, 0}), "SCHED_EXIT");
}

TEST(Messages, TextViews) {
  Bytes b = bytes_of("{\"ok\":true}");
  EXPECT_EQ(as_text(b), "{\"ok\":true}");
  EXPECT_EQ(Bytes(as_bytes("ab").begin(), as_bytes("ab").end()), bytes_of("ab"));
}

// ---- SNAPSHOT_REQUEST / REPLY

TEST(Snapshot, RequestIsFixed80Bytes) {
  SnapshotRequest m{7, SnapshotKind::kWatch, "after-step-2"};
  Bytes b = decoded(encode(m));
  ASSERT_EQ(b.size(), kSnapshotRequestSize);
  EXPECT_EQ(b[8], 2);    // kind
  EXPECT_EQ(b[12], 12);  // tag_len
  EXPECT_EQ(b[16], 'a');
  EXPECT_EQ(b[79], 0);  // zero padding
  EXPECT_EQ(decoded(decode_snapshot_request(b)), m);
  SnapshotRequest full{1, SnapshotKind::kCapture, std::string(64, 't')};
  EXPECT_EQ(decoded(decode_snapshot_request(decoded(encode(full)))), full);
}

TEST(Snapshot, RequestDecodeRejectsEachBadField) {
  Bytes good = decoded(encode(SnapshotRequest{9, SnapshotKind::kCapture, "t"}));
  expect_protocol_error(decode_snapshot_request(resized(good, 79)), "expected 80");
  expect_protocol_error(decode_snapshot_request(resized(good, 81)), "expected 80");
  Bytes zero_id = good;
  std::fill(zero_id.begin(), zero_id.begin() + 8, 0);
  expect_protocol_error(decode_snapshot_request(zero_id), "request_id is 0");
  for (uint8_t kind : {0, 3, 255}) {
    Bytes b = good;
    b[8] = kind;
    expect_protocol_error(decode_snapshot_request(b), "unknown kind");
  }
  Bytes long_tag = good;
  long_tag[12] = 65;
  expect_protocol_error(decode_snapshot_request(long_tag), "tag_len 65");
  Bytes huge_tag = good;
  huge_tag[15] = 0xff;
  expect_protocol_error(decode_snapshot_request(huge_tag), "tag_len");
}

TEST(Snapshot, RequestIgnoresPaddingAfterTag) {
  Bytes b = decoded(encode(SnapshotRequest{9, SnapshotKind::kCapture, "t"}));
  b[40] = 'Z';
  EXPECT_EQ(decoded(decode_snapshot_request(b)).tag, "t");
}

TEST(Snapshot, EncodeRefusesWhatDecodeWouldReject) {
  EXPECT_FALSE(encode(SnapshotRequest{0, SnapshotKind::kCapture, ""}).ok());
  EXPECT_FALSE(encode(SnapshotRequest{1, SnapshotKind::kCapture, std::string(65, 'x')}).ok());
}

TEST(Snapshot, ReplyRoundTripsAndChecksReasonLength) {
  SnapshotReply m{7, 3, "guest memory not mapped"};
  Bytes b = encode(m);
  EXPECT_EQ(b.size(), kSnapshotReplyFixedSize + m.reason.size());
  EXPECT_EQ(decoded(decode_snapshot_reply(b)), m);
  b.push_back('!');
  expect_protocol_error(decode_snapshot_reply(b), "reason_len");
  expect_protocol_error(decode_snapshot_reply(resized(b, 20)), "reason_len");
  expect_protocol_error(decode_snapshot_reply(Bytes(15, 0)), "at least 16");
}

// ---- KERNEL_OP_REQUEST / REPLY

KernelOpRequest sample_op() {
  KernelOpRequest m;
  m.request_id = 0x0102030405060708;
  m.op = KernelOp::kWrite;
  m.target = KernelTarget::kPercpuField;
  m.width = 4;
  m.cpu = 3;
  m.pid = 0;
  m.address = 0;
  m.value = 0xabcd;
  m.symbol = "runqueues";
  m.field = "nr_running";
  m.tag = "bump";
  return m;
}

TEST(KernelOp, RequestLayout) {
  KernelOpRequest m = sample_op();
  Bytes b = decoded(encode(m));
  ASSERT_EQ(b.size(), kKernelOpRequestFixedSize + 9 + 10 + 4);
  EXPECT_EQ(b[0], 0x08);   // request_id LE
  EXPECT_EQ(b[8], 2);      // op
  EXPECT_EQ(b[9], 3);      // target
  EXPECT_EQ(b[10], 4);     // width
  EXPECT_EQ(b[11], 0);     // pad
  EXPECT_EQ(b[12], 3);     // cpu
  EXPECT_EQ(b[28], 0xcd);  // value
  EXPECT_EQ(b[36], 9);     // symbol_len
  EXPECT_EQ(b[38], 10);    // field_len
  EXPECT_EQ(b[40], 4);     // tag_len
  EXPECT_EQ(std::string(b.begin() + 44, b.begin() + 53), "runqueues");
  EXPECT_EQ(decoded(decode_kernel_op_request(b)), m);
}

TEST(KernelOp, RequestEveryTargetRoundTrips) {
  KernelOpRequest sym{1, KernelOp::kRead, KernelTarget::kSymbol, 8, 0, 0, 0, 0, "jiffies", "", ""};
  KernelOpRequest kva{
      2, KernelOp::kRead, KernelTarget::kKva, 1, 0, 0, 0xffff888000001000, 0, "", "", "t"};
  KernelOpRequest task{
      3, KernelOp::kWrite, KernelTarget::kTaskField, 8, 0, 42, 0, ~0ull, "", "se.vruntime", ""};
  for (const auto& m : {sym, kva, task})
    EXPECT_EQ(decoded(decode_kernel_op_request(decoded(encode(m)))), m);
}

TEST(KernelOp, RequestLengthsMustAddUpExactly) {
  Bytes b = decoded(encode(sample_op()));
  expect_protocol_error(decode_kernel_op_request(resized(b, 43)), "at least 44");
  expect_protocol_error(decode_kernel_op_request(resized(b, b.size() - 1)), "bytes follow");
  Bytes extra = b;
  extra.push_back(0);
  expect_protocol_error(decode_kernel_op_request(extra), "bytes follow");
  // Lengths that would overflow 32 bits if added carelessly.
  Bytes huge = b;
  huge[36] = huge[37] = 0xff;
  huge[38] = huge[39] = 0xff;
  huge[40] = huge[41] = huge[42] = huge[43] = 0xff;
  expect_protocol_error(decode_kernel_op_request(huge), "bytes follow");
  // 0xffff + 0xffff + tag_len wraps a u32 sum around to the real 23 bytes.
  Bytes wrap = b;
  wrap[36] = wrap[37] = wrap[38] = wrap[39] = 0xff;
  uint32_t tag_len = static_cast<uint32_t>((uint64_t{1} << 32) + 23 - 2 * 0xffff);
  for (int i = 0; i < 4; ++i) wrap[40 + i] = static_cast<uint8_t>(tag_len >> (8 * i));
  ASSERT_EQ(static_cast<uint32_t>(0xffff + 0xffff + tag_len), 23u);
  expect_protocol_error(decode_kernel_op_request(wrap), "bytes follow");
}

TEST(KernelOp, RequestDecodeRejectsEachBadField) {
  Bytes good = decoded(encode(sample_op()));
  auto with = [&](size_t at, uint8_t v) {
    Bytes b = good;
    b[at] = v;
    return b;
  };
  Bytes zero_id = good;
  std::fill(zero_id.begin(), zero_id.begin() + 8, 0);
  expect_protocol_error(decode_kernel_op_request(zero_id), "request_id is 0");
  expect_protocol_error(decode_kernel_op_request(with(8, 0)), "unknown op 0");
  expect_protocol_error(decode_kernel_op_request(with(8, 3)), "unknown op 3");
  expect_protocol_error(decode_kernel_op_request(with(9, 0)), "unknown target kind 0");
  expect_protocol_error(decode_kernel_op_request(with(9, 5)), "unknown target kind 5");
  for (uint8_t w : {0, 3, 5, 16})
    expect_protocol_error(decode_kernel_op_request(with(10, w)), "width");
  expect_protocol_error(decode_kernel_op_request(with(11, 1)), "pad byte");
  // Width 1 cannot carry 0xabcd.
  expect_protocol_error(decode_kernel_op_request(with(10, 1)), "does not fit");
}

TEST(KernelOp, TargetsNeedTheirOperands) {
  KernelOpRequest m = sample_op();
  m.symbol.clear();
  EXPECT_FALSE(encode(m).ok());
  m = sample_op();
  m.field.clear();
  EXPECT_FALSE(encode(m).ok());
  m = sample_op();
  m.target = KernelTarget::kKva;
  m.address = 0;
  EXPECT_FALSE(encode(m).ok());
  m = sample_op();
  m.symbol = std::string(65536, 's');
  EXPECT_FALSE(encode(m).ok());
}

TEST(KernelOp, ReplyRoundTripsAndChecksReasonLength) {
  KernelOpReply m{5, 0, 0xfeedface, ""};
  Bytes b = encode(m);
  EXPECT_EQ(b.size(), kKernelOpReplyFixedSize);
  EXPECT_EQ(decoded(decode_kernel_op_reply(b)), m);
  KernelOpReply err{6, 2, 0, "symbol not found"};
  EXPECT_EQ(decoded(decode_kernel_op_reply(encode(err))), err);
  Bytes bad = encode(err);
  bad.pop_back();
  expect_protocol_error(decode_kernel_op_reply(bad), "reason_len");
  expect_protocol_error(decode_kernel_op_reply(Bytes(23, 0)), "at least 24");
}

}  // namespace
}  // namespace ktstr::wire
