// The scenario engine's host-request callbacks as the agent wires them
// (attach_host_channel), against a fake host on a socketpair.
#include "guest/scenario_mode.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <future>

#include "util/files.h"
#include "wire/assembler.h"

namespace ktstr::guest {
namespace {

using namespace std::chrono_literals;
using scenario::KernelOpSpec;

TEST(ToWire, MapsEveryTarget) {
  KernelOpSpec k;
  k.access = KernelOpSpec::Access::kWrite;
  k.target = KernelOpSpec::Target::kPercpu;
  k.symbol = "runqueues";
  k.field = "nr_running";
  k.cpu = 3;
  k.width = 4;
  k.value = 9;
  k.tag = "rq3";
  auto w = to_wire(k);
  EXPECT_EQ(w.op, wire::KernelOp::kWrite);
  EXPECT_EQ(w.target, wire::KernelTarget::kPercpuField);
  EXPECT_EQ(w.symbol, "runqueues");
  EXPECT_EQ(w.field, "nr_running");
  EXPECT_EQ(w.cpu, 3u);
  EXPECT_EQ(w.width, 4);
  EXPECT_EQ(w.value, 9u);
  EXPECT_EQ(w.tag, "rq3");
  k.access = KernelOpSpec::Access::kRead;
  k.target = KernelOpSpec::Target::kKva;
  EXPECT_EQ(to_wire(k).op, wire::KernelOp::kRead);
  EXPECT_EQ(to_wire(k).target, wire::KernelTarget::kKva);
  k.target = KernelOpSpec::Target::kTask;
  EXPECT_EQ(to_wire(k).target, wire::KernelTarget::kTaskField);
  k.target = KernelOpSpec::Target::kSymbol;
  EXPECT_EQ(to_wire(k).target, wire::KernelTarget::kSymbol);
}

class AttachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    guest_.reset(fds[0]);
    host_.reset(fds[1]);
    ASSERT_EQ(::fcntl(guest_.get(), F_SETFL, O_NONBLOCK), 0);
    sink_ = std::make_unique<FrameSink>(guest_.get());
    auto ch = HostChannel::start(guest_.get(), *sink_);
    ASSERT_TRUE(ch.ok());
    channel_ = std::move(*ch);
    attach_host_channel(cfg_, *channel_, 60s);
  }
  void TearDown() override { channel_->stop(); }

  wire::Frame next_request() {
    std::vector<wire::Frame> got;
    while (got.empty()) {
      uint8_t buf[4096];
      ssize_t n = ::read(host_.get(), buf, sizeof buf);
      if (n <= 0) return {};
      got = assembler_.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
    }
    EXPECT_EQ(got.size(), 1u);
    return std::move(got.front());
  }
  void send(wire::MsgType type, const wire::Bytes& payload) {
    ASSERT_TRUE(write_all(host_.get(), wire::encode_frame(type, payload)).ok());
  }

  UniqueFd guest_, host_;
  std::unique_ptr<FrameSink> sink_;
  std::unique_ptr<HostChannel> channel_;
  scenario::EngineConfig cfg_;
  wire::Assembler assembler_;
};

TEST_F(AttachTest, KernelReadReturnsTheValue) {
  KernelOpSpec k;
  k.symbol = "nr_cpu_ids";
  k.tag = "cpus";
  auto fut = std::async(std::launch::async, [&] { return cfg_.kernel_op(k); });
  auto req = wire::decode_kernel_op_request(next_request().payload);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->symbol, "nr_cpu_ids");
  send(wire::MsgType::kKernelOpReply, wire::encode(wire::KernelOpReply{req->request_id, 0, 4, ""}));
  auto r = fut.get();
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, 4u);
}

TEST_F(AttachTest, RefusalsBecomeFailedErrorsWithTheReason) {
  KernelOpSpec k;
  k.symbol = "no_such";
  k.tag = "x";
  auto fut = std::async(std::launch::async, [&] { return cfg_.kernel_op(k); });
  auto req = wire::decode_kernel_op_request(next_request().payload);
  ASSERT_TRUE(req.ok());
  send(wire::MsgType::kKernelOpReply,
       wire::encode(wire::KernelOpReply{req->request_id, 3, 0, "kernel symbol 'no_such' not found"}));
  auto r = fut.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kFailed);
  EXPECT_EQ(r.error().message(),
            "host refused kernel-read 'x' (status 3): kernel symbol 'no_such' not found");

  auto watch = std::async(std::launch::async, [&] { return cfg_.watch("jiffies"); });
  auto sreq = wire::decode_snapshot_request(next_request().payload);
  ASSERT_TRUE(sreq.ok());
  EXPECT_EQ(sreq->kind, wire::SnapshotKind::kWatch);
  EXPECT_EQ(sreq->tag, "jiffies");
  send(wire::MsgType::kSnapshotReply, wire::encode(wire::SnapshotReply{sreq->request_id, 1, ""}));
  auto w = watch.get();
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().message(), "host refused watch-snapshot 'jiffies' (status 1)");
}

// The note carries the host's words and the guest's own view of its
// scheduler state just before and after the freeze (for cross-checks).
TEST_F(AttachTest, SnapshotReturnsTheHostsNoteAndTheGuestsView) {
  auto fut = std::async(std::launch::async, [&] { return cfg_.snapshot("after"); });
  auto req = wire::decode_snapshot_request(next_request().payload);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->kind, wire::SnapshotKind::kCapture);
  send(wire::MsgType::kSnapshotReply,
       wire::encode(wire::SnapshotReply{req->request_id, 0, "frozen 3 ms"}));
  auto r = fut.get();
  ASSERT_TRUE(r.ok());
  auto j = nlohmann::json::parse(*r, nullptr, false);
  ASSERT_TRUE(j.is_object()) << *r;
  EXPECT_EQ(j["host"], "frozen 3 ms");
  EXPECT_TRUE(j["guest_before"].contains("nr_running")) << *r;
  EXPECT_TRUE(j["guest_after"].contains("scx_state")) << *r;
}

}  // namespace
}  // namespace ktstr::guest
