#include <gtest/gtest.h>

#include "test_util.h"
#include "wire/assembler.h"

namespace ktstr::wire {
namespace {

using namespace test;

// A stream of assorted frames (empty, small, multi-chunk) and what the
// assembler must yield for it.
struct Sample {
  Bytes stream;
  std::vector<std::pair<MsgType, Bytes>> frames;
};

Sample sample_stream() {
  Sample s;
  auto add = [&](MsgType t, Bytes p) {
    append(s.stream, good_frame(t, p));
    s.frames.emplace_back(t, std::move(p));
  };
  add(MsgType::kSysRdy, {});
  add(MsgType::kStdout, bytes_of("hello\n"));
  add(MsgType::kDmesg, random_bytes(70000, 3));
  add(MsgType::kExit, Bytes{0, 0, 0, 0});
  add(MsgType::kStderr, random_bytes(1, 4));
  add(MsgType::kSchedLog, random_bytes(4097, 5));
  return s;
}

void expect_frames(const std::vector<Frame>& got, const Sample& s) {
  ASSERT_EQ(got.size(), s.frames.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].msg_type, static_cast<uint32_t>(s.frames[i].first)) << i;
    EXPECT_EQ(got[i].payload, s.frames[i].second) << i;
    EXPECT_TRUE(got[i].crc_ok) << i;
  }
}

TEST(Assembler, WholeStreamInOneChunk) {
  Sample s = sample_stream();
  Assembler a;
  expect_frames(a.feed(s.stream), s);
  EXPECT_EQ(a.stats().frames, s.frames.size());
  EXPECT_EQ(a.stats().bytes, s.stream.size());
  EXPECT_EQ(a.stats().crc_failures, 0u);
  EXPECT_EQ(a.stats().framing_errors, 0u);
  EXPECT_EQ(a.stats().resync_bytes_dropped, 0u);
  EXPECT_EQ(a.buffered(), 0u);
}

TEST(Assembler, OneByteAtATime) {
  Sample s = sample_stream();
  Assembler a;
  std::vector<Frame> got;
  for (uint8_t b : s.stream)
    for (auto& f : a.feed(std::span<const uint8_t>(&b, 1))) got.push_back(std::move(f));
  expect_frames(got, s);
  EXPECT_EQ(a.stats().bytes, s.stream.size());
  EXPECT_EQ(a.buffered(), 0u);
}

TEST(Assembler, RandomChunkings) {
  Sample s = sample_stream();
  for (uint32_t seed = 0; seed < 100; ++seed) {
    Assembler a;
    size_t max_chunk = seed % 2 ? 40 : 9000;
    expect_frames(feed_randomly(a, s.stream, seed, max_chunk), s);
    EXPECT_EQ(a.stats().framing_errors, 0u) << seed;
  }
}

TEST(Assembler, CallbackFormDeliversInOrder) {
  Sample s = sample_stream();
  Assembler a;
  std::vector<Frame> got;
  a.feed(s.stream, [&](Frame&& f) { got.push_back(std::move(f)); });
  expect_frames(got, s);
}

TEST(Assembler, HeaderSplitAcrossChunksWaits) {
  Bytes f = good_frame(MsgType::kStdout, bytes_of("abc"));
  Assembler a;
  EXPECT_TRUE(a.feed(std::span(f).first(15)).empty());
  EXPECT_EQ(a.buffered(), 15u);
  EXPECT_TRUE(a.feed(std::span(f).subspan(15, 3)).empty());
  auto got = a.feed(std::span(f).subspan(18));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, bytes_of("abc"));
}

TEST(Assembler, BadCrcIsYieldedFlaggedAndCounted) {
  Bytes stream = bad_crc_frame(MsgType::kStdout, bytes_of("corrupt"));
  append(stream, good_frame(MsgType::kStdout, bytes_of("fine")));
  Assembler a;
  auto got = a.feed(stream);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[0].crc_ok);
  EXPECT_EQ(got[0].payload, bytes_of("corrupt"));
  EXPECT_TRUE(got[1].crc_ok);
  EXPECT_EQ(a.stats().crc_failures, 1u);
  EXPECT_EQ(a.stats().framing_errors, 0u);  // the length was still believed
}

TEST(Assembler, LengthAtTheLimitIsAccepted) {
  Assembler a;
  Bytes h = raw_frame(static_cast<uint32_t>(MsgType::kDmesg), {}, 0, 0, kMaxPayload);
  EXPECT_TRUE(a.feed(h).empty());
  EXPECT_EQ(a.stats().framing_errors, 0u);
  EXPECT_FALSE(a.resyncing());
}

TEST(Assembler, GiantLengthIsAFramingErrorAndResyncs) {
  Bytes stream = raw_frame(static_cast<uint32_t>(MsgType::kStdout), {}, 0, 0, kMaxPayload + 1);
  append(stream, good_frame(MsgType::kStdout, bytes_of("after")));
  Assembler a;
  auto got = a.feed(stream);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, bytes_of("after"));
  EXPECT_EQ(a.stats().framing_errors, 1u);
  EXPECT_EQ(a.stats().resync_bytes_dropped, kHeaderSize);  // exactly the bad header
  EXPECT_FALSE(a.resyncing());
  EXPECT_LT(a.buffered(), 100u);  // did not try to buffer 16 MiB
}

TEST(Assembler, MaxLengthHeaderHoldsAtMostOnePayload) {
  // A header may claim the maximum and then trickle: memory stays bounded by
  // that one payload, far below the 2 x 16 MiB cap.
  Assembler a;
  Bytes payload = random_bytes(kMaxPayload, 6);
  Bytes stream = good_frame(MsgType::kKallsyms, payload);
  size_t max_buffered = 0;
  std::vector<Frame> got;
  for (size_t off = 0; off < stream.size(); off += 1 << 20) {
    size_t n = std::min<size_t>(1 << 20, stream.size() - off);
    for (auto& f : a.feed(std::span(stream).subspan(off, n))) got.push_back(std::move(f));
    max_buffered = std::max(max_buffered, a.buffered());
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].crc_ok);
  EXPECT_EQ(got[0].payload.size(), kMaxPayload);
  EXPECT_LE(max_buffered, size_t{kMaxPayload});
}

TEST(Assembler, NonzeroReservedIsAFramingError) {
  Bytes p = bytes_of("x");
  Bytes stream = raw_frame(static_cast<uint32_t>(MsgType::kStdout), p, crc32_of(p), 1);
  append(stream, good_frame(MsgType::kStderr, bytes_of("ok")));
  Assembler a;
  auto got = a.feed(stream);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].msg_type, static_cast<uint32_t>(MsgType::kStderr));
  EXPECT_EQ(a.stats().framing_errors, 1u);
  EXPECT_EQ(a.stats().resync_bytes_dropped, kHeaderSize + 1);  // bad header + its payload
}

// Garbage made of bytes 0x01..0x3f: reserved is never zero (so the first
// window is a framing error) and no window can spell a known tag (tags are
// upper-case letters), so every garbage byte is dropped and counted.
Bytes tagless_garbage(size_t n, uint32_t seed) {
  Bytes g = random_bytes(n, seed);
  for (auto& b : g) b = static_cast<uint8_t>(1 + b % 0x3f);
  return g;
}

TEST(Assembler, GarbageBetweenFramesIsSkipped) {
  Bytes stream = good_frame(MsgType::kStdout, bytes_of("one"));
  Bytes garbage = tagless_garbage(1000, 7);
  append(stream, garbage);
  append(stream, good_frame(MsgType::kStdout, bytes_of("two")));
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{4096}}) {
    Assembler a;
    std::vector<Frame> got;
    for (size_t off = 0; off < stream.size(); off += chunk)
      for (auto& f : a.feed(std::span(stream).subspan(off, std::min(chunk, stream.size() - off))))
        got.push_back(std::move(f));
    ASSERT_EQ(got.size(), 2u) << chunk;
    EXPECT_EQ(got[0].payload, bytes_of("one"));
    EXPECT_EQ(got[1].payload, bytes_of("two"));
    EXPECT_EQ(a.stats().framing_errors, 1u);
    EXPECT_EQ(a.stats().resync_bytes_dropped, garbage.size()) << chunk;
  }
}

TEST(Assembler, UnknownTypeInSyncIsStillAFrame) {
  // The dispatcher, not the assembler, decides about unknown types.
  Bytes p = bytes_of("?");
  Assembler a;
  auto got = a.feed(raw_frame(0x51525354, p, crc32_of(p)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].msg_type, 0x51525354u);
  EXPECT_TRUE(got[0].crc_ok);
}

TEST(Assembler, ResyncSkipsHeadersWithUnknownTypes) {
  Bytes stream = raw_frame(static_cast<uint32_t>(MsgType::kStdout), {}, 0, 7);  // framing error
  Bytes p = bytes_of("?");
  Bytes unknown = raw_frame(0x51525354, p, crc32_of(p));  // plausible except for its type
  append(stream, unknown);
  append(stream, good_frame(MsgType::kStdout, bytes_of("known")));
  Assembler a;
  auto got = a.feed(stream);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].payload, bytes_of("known"));
  EXPECT_EQ(a.stats().resync_bytes_dropped, kHeaderSize + unknown.size());
}

TEST(Assembler, ResidualBufferStaysBoundedUnderEndlessGarbage) {
  Assembler a;
  Bytes garbage = tagless_garbage(1 << 20, 8);
  size_t max_buffered = 0;
  for (int i = 0; i < 40; ++i) {  // 40 MiB > 2 x 16 MiB
    a.feed(garbage, [](Frame&&) { FAIL() << "no frame expected"; });
    max_buffered = std::max(max_buffered, a.buffered());
  }
  EXPECT_LE(max_buffered, Assembler::kScanWindow + kHeaderSize);
  EXPECT_LT(a.buffered(), kHeaderSize);
  EXPECT_EQ(a.stats().resync_bytes_dropped + a.buffered(), 40u << 20);
  EXPECT_EQ(a.stats().framing_errors, 1u);
  // And it still recovers.
  auto got = a.feed(good_frame(MsgType::kExit, Bytes{1, 0, 0, 0}));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].crc_ok);
}

TEST(Assembler, CustomLimit) {
  Assembler a(AssemblerLimits{.max_payload = 8});
  Bytes stream = good_frame(MsgType::kStdout, bytes_of("12345678"));
  append(stream, good_frame(MsgType::kStdout, bytes_of("123456789")));
  append(stream, good_frame(MsgType::kStdout, bytes_of("ok")));
  auto got = a.feed(stream);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].payload, bytes_of("12345678"));
  EXPECT_EQ(got[1].payload, bytes_of("ok"));
  EXPECT_EQ(a.stats().framing_errors, 1u);
}

TEST(Assembler, EmptyFeedDoesNothing) {
  Assembler a;
  EXPECT_TRUE(a.feed(std::span<const uint8_t>()).empty());
  EXPECT_EQ(a.stats().bytes, 0u);
}

}  // namespace
}  // namespace ktstr::wire
