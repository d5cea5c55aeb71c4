#include <gtest/gtest.h>
#include <zlib.h>

#include <set>

#include "test_util.h"
#include "wire/detail/crc32.h"
#include "wire/protocol.h"

namespace ktstr::wire {
namespace {

using namespace test;

TEST(Protocol, EveryTypeHasANameAndIsKnown) {
  std::set<std::string_view> names;
  for (MsgType t : all_types()) {
    auto raw = static_cast<uint32_t>(t);
    EXPECT_TRUE(is_known(raw));
    std::string_view name = type_name(raw);
    EXPECT_EQ(name.find("UNKNOWN"), std::string_view::npos) << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), all_types().size());  // no duplicates
  EXPECT_EQ(all_types().size(), 22u);
  EXPECT_EQ(type_name(static_cast<uint32_t>(MsgType::kSysRdy)), "SYS_RDY");
  EXPECT_EQ(type_name(static_cast<uint32_t>(MsgType::kKernelOpRequest)), "KERNEL_OP_REQUEST");
}

TEST(Protocol, UnknownTypeNameShowsTheValue) {
  EXPECT_FALSE(is_known(0x12345678));
  EXPECT_EQ(type_name(0x12345678), "UNKNOWN(0x12345678)");
}

TEST(Protocol, CoordinatorInternalSetIsExact) {
  std::set<MsgType> internal = {MsgType::kSysRdy,          MsgType::kKallsyms,
                                MsgType::kSnapshotRequest, MsgType::kSnapshotReply,
                                MsgType::kKernelOpRequest, MsgType::kKernelOpReply};
  for (MsgType t : all_types())
    EXPECT_EQ(is_coordinator_internal(t), internal.count(t) == 1)
        << type_name(static_cast<uint32_t>(t));
}

TEST(Protocol, TagsReadAsTextInAHexdump) {
  Bytes f = encode_frame(MsgType::kSysRdy, Bytes{});
  EXPECT_EQ(std::string(f.begin(), f.begin() + 4), "SRDY");
}

TEST(Protocol, HeaderLayoutIsLittleEndian) {
  Bytes payload = bytes_of("hello");
  Bytes f = encode_frame(MsgType::kStdout, payload);
  ASSERT_EQ(f.size(), kHeaderSize + 5);
  uint32_t crc = static_cast<uint32_t>(::crc32(0, payload.data(), 5));
  Bytes want = {'S',
                'O',
                'U',
                'T',
                5,
                0,
                0,
                0,
                static_cast<uint8_t>(crc),
                static_cast<uint8_t>(crc >> 8),
                static_cast<uint8_t>(crc >> 16),
                static_cast<uint8_t>(crc >> 24),
                0,
                0,
                0,
                0,
                'h',
                'e',
                'l',
                'l',
                'o'};
  EXPECT_EQ(f, want);
  FrameHeader h = decode_header(f.data());
  EXPECT_EQ(h.msg_type, static_cast<uint32_t>(MsgType::kStdout));
  EXPECT_EQ(h.length, 5u);
  EXPECT_EQ(h.crc32, crc);
  EXPECT_EQ(h.reserved, 0u);
}

TEST(Protocol, StringPayloadOverloadMatches) {
  EXPECT_EQ(encode_frame(MsgType::kCrash, std::string_view("boom")),
            encode_frame(MsgType::kCrash, bytes_of("boom")));
}

TEST(Crc32, KnownVector) {
  EXPECT_EQ(crc32_of(bytes_of("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32_of({}), 0u);
}

// Every implementation this CPU supports must agree with zlib byte for byte,
// at every length around the block thresholds and at odd alignments.
TEST(Crc32, EveryImplementationMatchesZlib) {
  using detail::CrcImpl;
  Bytes data = random_bytes(70000, 1);
  int checked = 0;
  for (CrcImpl impl : {CrcImpl::kZlib, CrcImpl::kPclmul, CrcImpl::kVpclmul512}) {
    if (!detail::crc_impl_supported(impl)) {
      std::printf("skipping %s: not supported here\n", detail::crc_impl_name(impl));
      continue;
    }
    ++checked;
    for (size_t align : {0, 1, 7, 13}) {
      for (size_t len = 0; len <= 1100; ++len) {
        uint32_t want = static_cast<uint32_t>(::crc32(0, data.data() + align, len));
        ASSERT_EQ(detail::crc32_with(impl, 0, data.data() + align, len), want)
            << detail::crc_impl_name(impl) << " len " << len << " align " << align;
      }
      for (size_t len : {4096, 65536, 69999 - 13}) {
        uint32_t want = static_cast<uint32_t>(::crc32(0, data.data() + align, len));
        ASSERT_EQ(detail::crc32_with(impl, 0, data.data() + align, len), want)
            << detail::crc_impl_name(impl) << " len " << len;
      }
    }
    // Running CRC with a nonzero starting value.
    uint32_t seed = 0x12345678;
    uint32_t want = static_cast<uint32_t>(::crc32(seed, data.data(), 5000));
    EXPECT_EQ(detail::crc32_with(impl, seed, data.data(), 5000), want);
  }
  EXPECT_GE(checked, 1);
  std::printf("best CRC implementation: %s\n", detail::crc_impl_name(detail::best_crc_impl()));
}

// The assembler's incremental CRC: pieces of random sizes, each offered
// once, with the unconsumed rest offered again (from a copy elsewhere, as
// the assembler does) ahead of the next piece.
TEST(Crc32, FolderMatchesZlibForAnyPieces) {
  using detail::CrcImpl;
  Bytes data = random_bytes(40000, 9);
  std::mt19937 rng(3);
  for (CrcImpl impl : {CrcImpl::kZlib, CrcImpl::kPclmul, CrcImpl::kVpclmul512}) {
    if (!detail::crc_impl_supported(impl)) continue;
    for (int round = 0; round < 200; ++round) {
      size_t len = rng() % data.size();
      size_t max_piece = round % 2 ? 50 : 5000;
      detail::CrcFolder folder(impl);
      size_t off = 0, done = 0;
      while (off < len) {
        off = std::min(len, off + 1 + rng() % max_piece);
        Bytes copy(data.begin() + static_cast<ptrdiff_t>(done),
                   data.begin() + static_cast<ptrdiff_t>(off));
        size_t used = folder.fold(copy.data(), copy.size());
        ASSERT_LT(copy.size() - used, detail::CrcFolder::kBlock);
        done += used;
      }
      uint32_t got = folder.finish(data.data() + done, len - done);
      ASSERT_EQ(got, static_cast<uint32_t>(::crc32(0, data.data(), len)))
          << detail::crc_impl_name(impl) << " len " << len << " round " << round;
    }
  }
}

TEST(Crc32, RunningFormEqualsOneShot) {
  Bytes data = random_bytes(3000, 2);
  uint32_t whole = crc32_of(data);
  for (size_t split = 0; split <= data.size(); split += 37) {
    uint32_t c = crc32_update(0, std::span(data).first(split));
    c = crc32_update(c, std::span(data).subspan(split));
    ASSERT_EQ(c, whole) << split;
  }
}

}  // namespace
}  // namespace ktstr::wire
