#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "test_util.h"
#include "util/fd.h"
#include "wire/writer.h"

namespace ktstr::wire {
namespace {

using namespace test;

struct Pipe {
  UniqueFd r, w;
  Pipe() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    r.reset(fds[0]);
    w.reset(fds[1]);
  }
};

// Reads everything until EOF and assembles it.
std::vector<Frame> drain(int fd, Assembler& a) {
  std::vector<Frame> out;
  uint8_t buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    for (auto& f : a.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n))))
      out.push_back(std::move(f));
  }
  return out;
}

TEST(Writer, WritesOneFrame) {
  Pipe p;
  ASSERT_TRUE(write_frame(p.w.get(), MsgType::kCrash, bytes_of("panic")).ok());
  ASSERT_TRUE(write_frame(p.w.get(), MsgType::kSysRdy, {}).ok());
  p.w.reset();
  Assembler a;
  auto got = drain(p.r.get(), a);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].msg_type, static_cast<uint32_t>(MsgType::kCrash));
  EXPECT_EQ(got[0].payload, bytes_of("panic"));
  EXPECT_TRUE(got[0].crc_ok);
  EXPECT_TRUE(got[1].payload.empty());
  EXPECT_TRUE(got[1].crc_ok);
}

TEST(Writer, StreamIsSplitIntoChunks) {
  Pipe p;
  Bytes data = random_bytes(3 * kStreamChunk + 100, 1);
  std::vector<Frame> got;
  std::thread reader([&] {
    Assembler a;
    got = drain(p.r.get(), a);
  });
  ASSERT_TRUE(write_stream(p.w.get(), MsgType::kStdout, data).ok());
  p.w.reset();
  reader.join();
  ASSERT_EQ(got.size(), 4u);
  Bytes joined;
  for (auto& f : got) {
    EXPECT_LE(f.payload.size(), kStreamChunk);
    EXPECT_TRUE(f.crc_ok);
    append(joined, f.payload);
  }
  EXPECT_EQ(joined, data);
  EXPECT_EQ(got[3].payload.size(), 100u);
}

TEST(Writer, EmptyStreamWritesNothing) {
  Pipe p;
  ASSERT_TRUE(write_stream(p.w.get(), MsgType::kDmesg, {}).ok());
  p.w.reset();
  Assembler a;
  EXPECT_TRUE(drain(p.r.get(), a).empty());
}

TEST(Writer, RefusesWhatTheReaderWouldReject) {
  Pipe p;
  auto st = write_stream(p.w.get(), MsgType::kExit, bytes_of("1234"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("not a stream type"), std::string::npos);
  Bytes big(size_t{kMaxPayload} + 1);
  auto st2 = write_frame(p.w.get(), MsgType::kKallsyms, big);
  ASSERT_FALSE(st2.ok());
  EXPECT_NE(st2.error().message().find("16 MiB"), std::string::npos);
  EXPECT_FALSE(write_stream(p.w.get(), MsgType::kStdout, bytes_of("x"), 0).ok());
}

TEST(Writer, ReportsAClosedPort) {
  Pipe p;
  p.r.reset();
  signal(SIGPIPE, SIG_IGN);
  auto st = write_frame(p.w.get(), MsgType::kStdout, bytes_of("x"));
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("STDOUT"), std::string::npos);
}

// A non-blocking socket with a tiny buffer forces short writes and EAGAIN.
TEST(Writer, SurvivesShortWritesOnANonBlockingPort) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd w(sv[0]), r(sv[1]);
  int small = 4096;
  ::setsockopt(w.get(), SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::fcntl(w.get(), F_SETFL, O_NONBLOCK);
  Bytes payload = random_bytes(1 << 20, 2);
  std::vector<Frame> got;
  std::thread reader([&] {
    Assembler a;
    got = drain(r.get(), a);
  });
  ASSERT_TRUE(write_frame(w.get(), MsgType::kKallsyms, payload).ok());
  w.reset();
  reader.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].crc_ok);
  EXPECT_EQ(got[0].payload, payload);
}

TEST(Writer, SharedWriterNeverInterleavesFrames) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd w(sv[0]), r(sv[1]);
  FrameWriter writer(w.get());
  constexpr int kThreads = 4, kFrames = 100;
  std::vector<Frame> got;
  Assembler a;
  std::thread reader([&] { got = drain(r.get(), a); });
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kFrames; ++i) {
        Bytes p = random_bytes(100 + 997 * static_cast<size_t>(i), static_cast<uint32_t>(t));
        p[0] = static_cast<uint8_t>(t);
        if (!writer.write(MsgType::kStdout, p).ok()) ++failures;
      }
    });
  for (auto& t : ts) t.join();
  w.reset();
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(got.size(), size_t{kThreads * kFrames});
  for (auto& f : got) EXPECT_TRUE(f.crc_ok);
  EXPECT_EQ(a.stats().framing_errors, 0u);
  EXPECT_EQ(a.stats().crc_failures, 0u);
}

TEST(Writer, SharedWriterStreams) {
  Pipe p;
  FrameWriter writer(p.w.get());
  Bytes data = random_bytes(kStreamChunk + 1, 3);
  std::vector<Frame> got;
  std::thread reader([&] {
    Assembler a;
    got = drain(p.r.get(), a);
  });
  ASSERT_TRUE(writer.write_stream(MsgType::kSchedLog, data).ok());
  p.w.reset();
  reader.join();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].payload.size(), 1u);
}

}  // namespace
}  // namespace ktstr::wire
