#include "guest/report.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

#include "frames.h"
#include "guest/port.h"
#include "wire/messages.h"

namespace ktstr::guest {
namespace {

using testing::decode_frames;
using testing::PipeCollector;
using wire::MsgType;

wire::ByteSpan bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Reporter, SendsTheAgentMessages) {
  PipeCollector port;
  FrameSink sink(port.write_fd());
  Reporter rep;
  rep.attach(&sink);
  ASSERT_TRUE(rep.sys_rdy().ok());
  KernAddrs addrs;
  addrs.phys_base = 0;  // known and zero: must not read back as "unknown"
  addrs.page_offset_base = 0xff11000000000000ull;
  addrs.kernel_text = 0xffffffff81000000ull;
  ASSERT_TRUE(rep.kern_addrs(addrs).ok());
  ASSERT_TRUE(rep.kern_addrs(KernAddrs{}).ok());
  rep.step(wire::LifecyclePhase::kCommandStart, "echo \xff ok");
  auto exit_msg = wire::encode(wire::ExitStatus{128 + 9});
  auto acked = rep.send_last(MsgType::kExit, exit_msg, std::chrono::milliseconds(0));
  ASSERT_TRUE(acked.ok()) << acked.error().message();
  EXPECT_FALSE(*acked);  // no wait asked for

  auto frames = decode_frames(port.finish());
  ASSERT_EQ(frames.size(), 5u);
  EXPECT_EQ(frames[0].type, MsgType::kSysRdy);
  EXPECT_TRUE(frames[0].payload.empty());

  ASSERT_EQ(frames[1].type, MsgType::kKernAddrs);
  ASSERT_EQ(frames[1].payload.size(), wire::kKernAddrsSize);
  EXPECT_EQ(frames[1].payload[0], 1);  // phys_base 0 is sent as 0 + 1
  auto ka = wire::decode_kern_addrs(bytes(frames[1].payload));
  ASSERT_TRUE(ka.ok()) << ka.error().message();
  EXPECT_EQ(ka->phys_base, 0u);
  EXPECT_EQ(ka->page_offset_base, 0xff11000000000000ull);
  EXPECT_EQ(ka->kernel_text, 0xffffffff81000000ull);

  auto unknown = wire::decode_kern_addrs(bytes(frames[2].payload));
  ASSERT_TRUE(unknown.ok());
  EXPECT_FALSE(unknown->phys_base);
  EXPECT_EQ(unknown->page_offset_base, 0u);
  EXPECT_FALSE(unknown->kernel_text);

  ASSERT_EQ(frames[3].type, MsgType::kLifecycle);
  auto life = wire::decode_lifecycle(bytes(frames[3].payload));
  ASSERT_TRUE(life.ok()) << life.error().message();
  EXPECT_EQ(life->phase, wire::LifecyclePhase::kCommandStart);
  EXPECT_EQ(life->detail, "echo \xEF\xBF\xBD ok");  // invalid UTF-8 replaced

  ASSERT_EQ(frames[4].type, MsgType::kExit);
  auto ex = wire::decode_exit(bytes(frames[4].payload));
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->status, 137);
}

// A socketpair stands in for the bidirectional port.
struct FakePort {
  FakePort() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    guest.reset(fds[0]);
    host.reset(fds[1]);
    EXPECT_EQ(::fcntl(guest.get(), F_SETFL, O_NONBLOCK), 0);  // like open_port()
  }
  UniqueFd guest, host;
};

TEST(Reporter, LastFrameWaitsForTheHostAck) {
  FakePort port;
  // Input from before the last frame is not an ack.
  ASSERT_EQ(::write(port.host.get(), "old", 3), 3);
  std::thread host([&] {
    // Read the whole EXIT frame, then acknowledge it.
    std::string got;
    char buf[64];
    while (got.size() < wire::kHeaderSize + wire::kExitStatusSize) {
      ssize_t n = ::read(port.host.get(), buf, sizeof buf);
      if (n <= 0) return;
      got.append(buf, static_cast<size_t>(n));
    }
    auto frames = decode_frames(got);
    EXPECT_EQ(frames.size(), 1u);
    (void)!::write(port.host.get(), "k", 1);
  });
  FrameSink sink(port.guest.get());
  Reporter rep;
  rep.attach(&sink);
  auto exit_msg = wire::encode(wire::ExitStatus{0});
  auto acked = rep.send_last(MsgType::kExit, exit_msg, std::chrono::minutes(5));
  host.join();
  ASSERT_TRUE(acked.ok()) << acked.error().message();
  EXPECT_TRUE(*acked);
}

TEST(Reporter, StaleInputIsNotAnAck) {
  FakePort port;
  ASSERT_EQ(::write(port.host.get(), "stale", 5), 5);
  discard_host_input(port.guest.get());
  EXPECT_FALSE(wait_host_ack(port.guest.get(), std::chrono::milliseconds(1)));
  ASSERT_EQ(::write(port.host.get(), "k", 1), 1);
  EXPECT_TRUE(wait_host_ack(port.guest.get(), std::chrono::minutes(5)));
}

TEST(Reporter, HostHangupEndsTheWait) {
  FakePort port;
  port.host.reset();
  EXPECT_FALSE(wait_host_ack(port.guest.get(), std::chrono::minutes(5)));
}

TEST(Reporter, WithoutAPortOnlyTheConsole) {
  Reporter rep;
  rep.step(wire::LifecyclePhase::kMounted, "console only");  // must not crash
  auto st = rep.sys_rdy();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code(), Errc::kUnavailable);
}

}  // namespace
}  // namespace ktstr::guest
