#include "guest/host_channel.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "guest/port.h"
#include "util/files.h"
#include "wire/assembler.h"

namespace ktstr::guest {
namespace {

using namespace std::chrono_literals;

// Long enough never to expire in a passing test; only the timeout test
// relies on a deadline passing.
constexpr auto kNoDeadline = 60s;

// The port as a socketpair: the guest end is non-blocking like the
// virtio-console port, the fake host end blocks.
class HostChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    guest_.reset(fds[0]);
    host_.reset(fds[1]);
    ASSERT_EQ(::fcntl(guest_.get(), F_SETFL, O_NONBLOCK), 0);
    sink_ = std::make_unique<FrameSink>(guest_.get());
    auto ch = HostChannel::start(guest_.get(), *sink_);
    ASSERT_TRUE(ch.ok()) << ch.error().message();
    channel_ = std::move(*ch);
  }
  void TearDown() override {
    if (channel_) channel_->stop();
  }

  // The next request frame the guest wrote (blocks).
  wire::Frame next_request() {
    while (pending_.empty()) {
      uint8_t buf[4096];
      ssize_t n = ::read(host_.get(), buf, sizeof buf);
      if (n <= 0) {
        ADD_FAILURE() << "the guest side closed";
        return {};
      }
      for (auto& f : assembler_.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n))))
        pending_.push_back(std::move(f));
    }
    wire::Frame f = std::move(pending_.front());
    pending_.erase(pending_.begin());
    EXPECT_TRUE(f.crc_ok);
    return f;
  }
  wire::SnapshotRequest next_snapshot_request() {
    auto f = next_request();
    EXPECT_EQ(f.msg_type, static_cast<uint32_t>(wire::MsgType::kSnapshotRequest));
    auto r = wire::decode_snapshot_request(f.payload);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : wire::SnapshotRequest{};
  }
  void send_raw(const std::vector<uint8_t>& bytes) {
    ASSERT_TRUE(write_all(host_.get(), bytes).ok());
  }
  void reply(const wire::SnapshotReply& r) {
    send_raw(wire::encode_frame(wire::MsgType::kSnapshotReply, wire::encode(r)));
  }
  void reply(const wire::KernelOpReply& r) {
    send_raw(wire::encode_frame(wire::MsgType::kKernelOpReply, wire::encode(r)));
  }
  // One full exchange: proves every frame the host wrote before it was read.
  void sync() {
    auto fut = std::async(std::launch::async, [&] {
      return channel_->request_snapshot("sync", wire::SnapshotKind::kCapture, kNoDeadline);
    });
    auto req = next_snapshot_request();
    reply({req.request_id, 0, "synced"});
    auto r = fut.get();
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->reason, "synced");
  }

  UniqueFd guest_, host_;
  std::unique_ptr<FrameSink> sink_;
  std::unique_ptr<HostChannel> channel_;
  wire::Assembler assembler_;
  std::vector<wire::Frame> pending_;
};

TEST_F(HostChannelTest, SnapshotRoundTrip) {
  auto fut = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("after", wire::SnapshotKind::kCapture, kNoDeadline);
  });
  auto req = next_snapshot_request();
  EXPECT_NE(req.request_id, 0u);
  EXPECT_EQ(req.tag, "after");
  EXPECT_EQ(req.kind, wire::SnapshotKind::kCapture);
  reply({req.request_id, 0, "captured"});
  auto r = fut.get();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->request_id, req.request_id);
  EXPECT_EQ(r->status, 0u);
  EXPECT_EQ(r->reason, "captured");
  EXPECT_EQ(channel_->stats().replies, 1u);
}

TEST_F(HostChannelTest, ErrorReplyIsReturnedAsSent) {
  auto fut = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("jiffies", wire::SnapshotKind::kWatch, kNoDeadline);
  });
  auto req = next_snapshot_request();
  EXPECT_EQ(req.kind, wire::SnapshotKind::kWatch);
  reply({req.request_id, 5, "no free debug register"});
  auto r = fut.get();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->status, 5u);
  EXPECT_EQ(r->reason, "no free debug register");
}

TEST_F(HostChannelTest, RepliesOutOfOrderReachTheirRequests) {
  auto snap = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("a", wire::SnapshotKind::kCapture, kNoDeadline);
  });
  auto read = std::async(std::launch::async, [&] {
    wire::KernelOpRequest req;
    req.target = wire::KernelTarget::kSymbol;
    req.symbol = "nr_cpu_ids";
    req.width = 4;
    req.tag = "b";
    return channel_->kernel_op(req, kNoDeadline);
  });
  auto first = next_request();
  auto second = next_request();
  std::optional<wire::SnapshotRequest> s;
  std::optional<wire::KernelOpRequest> k;
  for (auto* f : {&first, &second}) {
    if (f->msg_type == static_cast<uint32_t>(wire::MsgType::kSnapshotRequest))
      s = *wire::decode_snapshot_request(f->payload);
    else
      k = *wire::decode_kernel_op_request(f->payload);
  }
  ASSERT_TRUE(s && k);
  EXPECT_NE(s->request_id, k->request_id);
  EXPECT_EQ(k->symbol, "nr_cpu_ids");
  EXPECT_EQ(k->width, 4);
  // Answer in the opposite order of arrival.
  if (first.msg_type == static_cast<uint32_t>(wire::MsgType::kSnapshotRequest)) {
    reply(wire::KernelOpReply{k->request_id, 0, 4, ""});
    reply(wire::SnapshotReply{s->request_id, 0, "snap"});
  } else {
    reply(wire::SnapshotReply{s->request_id, 0, "snap"});
    reply(wire::KernelOpReply{k->request_id, 0, 4, ""});
  }
  auto sr = snap.get();
  auto kr = read.get();
  ASSERT_TRUE(sr.ok() && kr.ok());
  EXPECT_EQ(sr->reason, "snap");
  EXPECT_EQ(kr->value, 4u);
}

TEST_F(HostChannelTest, ConcurrentSnapshotsGetTheirOwnReplies) {
  auto a = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("a", wire::SnapshotKind::kCapture, kNoDeadline);
  });
  auto b = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("b", wire::SnapshotKind::kCapture, kNoDeadline);
  });
  auto r1 = next_snapshot_request();
  auto r2 = next_snapshot_request();
  EXPECT_NE(r1.request_id, r2.request_id);
  reply({r2.request_id, 0, "for " + r2.tag});
  reply({r1.request_id, 0, "for " + r1.tag});
  EXPECT_EQ(a.get()->reason, "for a");
  EXPECT_EQ(b.get()->reason, "for b");
}

TEST_F(HostChannelTest, DuplicateReplyIsCountedNotDelivered) {
  auto fut = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("x", wire::SnapshotKind::kCapture, kNoDeadline);
  });
  auto req = next_snapshot_request();
  reply({req.request_id, 0, "first"});
  reply({req.request_id, 9, "second"});
  auto r = fut.get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->reason, "first");
  sync();
  EXPECT_EQ(channel_->stats().unmatched, 1u);
}

TEST_F(HostChannelTest, BadCrcReplyIsIgnored) {
  auto fut = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("x", wire::SnapshotKind::kCapture, kNoDeadline);
  });
  auto req = next_snapshot_request();
  auto bad = wire::encode_frame(wire::MsgType::kSnapshotReply,
                                wire::encode(wire::SnapshotReply{req.request_id, 7, "corrupt"}));
  bad.back() ^= 0x20;  // payload byte: the CRC no longer matches
  send_raw(bad);
  reply({req.request_id, 0, "good"});
  auto r = fut.get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 0u);
  EXPECT_EQ(r->reason, "good");
  EXPECT_EQ(channel_->stats().bad_crc, 1u);
}

TEST_F(HostChannelTest, MalformedAndUnexpectedFramesAreIgnored) {
  auto fut = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("x", wire::SnapshotKind::kCapture, kNoDeadline);
  });
  auto req = next_snapshot_request();
  send_raw(wire::encode_frame(wire::MsgType::kSnapshotReply, std::string_view("short")));
  send_raw(wire::encode_frame(wire::MsgType::kStdout, std::string_view("noise")));
  // A kernel-op reply carrying the snapshot's id is not its answer.
  reply(wire::KernelOpReply{req.request_id, 0, 1, ""});
  reply({req.request_id, 0, "good"});
  auto r = fut.get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->reason, "good");
  auto st = channel_->stats();
  EXPECT_EQ(st.malformed, 1u);
  EXPECT_EQ(st.other, 1u);
  EXPECT_EQ(st.unmatched, 1u);
}

TEST_F(HostChannelTest, MissingReplyTimesOutAndALateOneIsDropped) {
  auto fut = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("slow", wire::SnapshotKind::kCapture, 20ms);
  });
  auto req = next_snapshot_request();
  auto r = fut.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kTimeout);
  EXPECT_EQ(r.error().message(), "host did not answer snapshot 'slow' within 20 ms");
  reply({req.request_id, 0, "late"});
  sync();
  EXPECT_EQ(channel_->stats().unmatched, 1u);
}

TEST_F(HostChannelTest, KernelOpTimeoutNamesTheOp) {
  auto fut = std::async(std::launch::async, [&] {
    wire::KernelOpRequest req;
    req.op = wire::KernelOp::kWrite;
    req.target = wire::KernelTarget::kKva;
    req.address = 0xffffffff81000000ull;
    req.value = 1;
    req.tag = "poke";
    return channel_->kernel_op(req, 10ms);
  });
  (void)next_request();
  auto r = fut.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), "host did not answer kernel-write 'poke' within 10 ms");
}

TEST_F(HostChannelTest, StopFailsWaitersAndLeavesTheAckToTheAgent) {
  auto fut = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("x", wire::SnapshotKind::kCapture, kNoDeadline);
  });
  (void)next_snapshot_request();  // registered before it was sent
  channel_->stop();
  auto r = fut.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kUnavailable);
  auto again = channel_->request_snapshot("y", wire::SnapshotKind::kCapture, kNoDeadline);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Errc::kUnavailable);
  // With the reader gone, the host's ack byte is the agent's to read.
  const uint8_t ack = 1;
  ASSERT_EQ(::write(host_.get(), &ack, 1), 1);
  EXPECT_TRUE(wait_host_ack(guest_.get(), kNoDeadline));
}

TEST_F(HostChannelTest, HostHangupFailsWaiters) {
  auto fut = std::async(std::launch::async, [&] {
    return channel_->request_snapshot("x", wire::SnapshotKind::kCapture, kNoDeadline);
  });
  (void)next_snapshot_request();
  host_.reset();
  auto r = fut.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kUnavailable);
  EXPECT_NE(r.error().message().find("the host closed the wire port"), std::string::npos)
      << r.error().message();
}

TEST_F(HostChannelTest, OverlongTagIsRefusedBeforeSending) {
  auto r = channel_->request_snapshot(std::string(65, 'a'), wire::SnapshotKind::kCapture, kNoDeadline);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  sync();  // the next frame the host sees is the sync request
}

}  // namespace
}  // namespace ktstr::guest
