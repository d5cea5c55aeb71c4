#include "guest/host_channel.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "guest/power.h"

namespace ktstr::guest {

namespace {

std::string kernel_op_what(const wire::KernelOpRequest& req) {
  return std::string(req.op == wire::KernelOp::kWrite ? "kernel-write" : "kernel-read") + " '" +
         req.tag + "'";
}

}  // namespace

Result<std::unique_ptr<HostChannel>> HostChannel::start(int port_fd, FrameSink& sink) {
  if (port_fd < 0) return invalid_argument("host channel: no wire port");
  std::unique_ptr<HostChannel> ch(new HostChannel(port_fd, sink));
  ch->stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!ch->stop_fd_.valid()) return io_error("host channel: eventfd");
  ch->reader_ = std::thread([c = ch.get()] { c->read_loop(); });
  set_crash_quiesce_fd(ch->stop_fd_.get());
  return ch;
}

HostChannel::HostChannel(int port_fd, FrameSink& sink) : port_fd_(port_fd), sink_(sink) {}

HostChannel::~HostChannel() { stop(); }

void HostChannel::stop() {
  if (reader_.joinable()) {
    set_crash_quiesce_fd(-1);
    uint64_t one = 1;
    (void)!::write(stop_fd_.get(), &one, sizeof one);
    reader_.join();
  }
  std::lock_guard lock(mu_);
  if (!closed_) closed_ = "the host channel was stopped";
  cv_.notify_all();
}

HostChannelStats HostChannel::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void HostChannel::read_loop() {
  auto close = [this](std::string why) {
    std::lock_guard lock(mu_);
    if (!closed_) closed_ = std::move(why);
    cv_.notify_all();
  };
  std::vector<uint8_t> buf(16u << 10);
  while (true) {
    pollfd p[2] = {{port_fd_, POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    int n = ::poll(p, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return close("polling the wire port failed");
    }
    if (p[1].revents) return;  // stop(): not the host's doing
    if (p[0].revents & POLLNVAL) return close("the wire port is closed");
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t got = ::read(port_fd_, buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    // A hangup with nothing to read would wake poll forever: the host is gone.
    if (got < 0 && errno == EAGAIN && !(p[0].revents & (POLLHUP | POLLERR))) continue;
    if (got <= 0) return close("the host closed the wire port");
    assembler_.feed(std::span<const uint8_t>(buf.data(), static_cast<size_t>(got)),
                    [this](wire::Frame&& f) { on_frame(std::move(f)); });
    std::lock_guard lock(mu_);
    stats_.framing_errors = assembler_.stats().framing_errors;
  }
}

void HostChannel::on_frame(wire::Frame&& frame) {
  auto count = [this](uint64_t HostChannelStats::*counter) {
    std::lock_guard lock(mu_);
    ++(stats_.*counter);
  };
  // A corrupted reply could carry any request_id or status: never believe it.
  if (!frame.crc_ok) return count(&HostChannelStats::bad_crc);
  switch (static_cast<wire::MsgType>(frame.msg_type)) {
    case wire::MsgType::kSnapshotReply: {
      auto reply = wire::decode_snapshot_reply(frame.payload);
      if (!reply.ok()) return count(&HostChannelStats::malformed);
      return deliver(reply->request_id, true, std::move(*reply));
    }
    case wire::MsgType::kKernelOpReply: {
      auto reply = wire::decode_kernel_op_reply(frame.payload);
      if (!reply.ok()) return count(&HostChannelStats::malformed);
      return deliver(reply->request_id, false, std::move(*reply));
    }
    default:
      return count(&HostChannelStats::other);
  }
}

void HostChannel::deliver(uint64_t id, bool snapshot, Reply reply) {
  std::lock_guard lock(mu_);
  auto it = pending_.find(id);
  // Late (after a timeout), duplicate, or for the other kind of request.
  if (it == pending_.end() || it->second.snapshot != snapshot ||
      !std::holds_alternative<std::monostate>(it->second.reply)) {
    ++stats_.unmatched;
    return;
  }
  it->second.reply = std::move(reply);
  ++stats_.replies;
  cv_.notify_all();
}

Result<HostChannel::Reply> HostChannel::round_trip(uint64_t id, bool snapshot, wire::MsgType type,
                                                   const wire::Bytes& payload,
                                                   std::chrono::milliseconds deadline,
                                                   const std::string& what) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return unavailable(what + ": " + *closed_);
    pending_[id] = Pending{snapshot, {}};  // before sending: the reply may come at once
  }
  if (auto st = sink_.send(type, payload); !st.ok()) {
    std::lock_guard lock(mu_);
    pending_.erase(id);
    return std::move(st).error().context("sending " + what);
  }
  std::unique_lock lock(mu_);
  const auto until = std::chrono::steady_clock::now() + deadline;
  cv_.wait_until(lock, until, [&] {
    return closed_ || !std::holds_alternative<std::monostate>(pending_.at(id).reply);
  });
  Reply reply = std::move(pending_.at(id).reply);
  pending_.erase(id);
  if (!std::holds_alternative<std::monostate>(reply)) return reply;
  if (closed_) return unavailable(what + ": " + *closed_);
  return timeout_error("host did not answer " + what + " within " +
                       std::to_string(deadline.count()) + " ms");
}

Result<wire::SnapshotReply> HostChannel::request_snapshot(std::string tag, wire::SnapshotKind kind,
                                                          std::chrono::milliseconds deadline) {
  const std::string what =
      (kind == wire::SnapshotKind::kWatch ? "watch-snapshot '" : "snapshot '") + tag + "'";
  wire::SnapshotRequest req{next_id_++, kind, std::move(tag)};
  KTSTR_ASSIGN(auto payload, wire::encode(req), what);
  KTSTR_ASSIGN(Reply reply, round_trip(req.request_id, true, wire::MsgType::kSnapshotRequest,
                                       payload, deadline, what));
  return std::get<wire::SnapshotReply>(std::move(reply));
}

Result<wire::KernelOpReply> HostChannel::kernel_op(wire::KernelOpRequest req,
                                                   std::chrono::milliseconds deadline) {
  req.request_id = next_id_++;
  const std::string what = kernel_op_what(req);
  KTSTR_ASSIGN(auto payload, wire::encode(req), what);
  KTSTR_ASSIGN(Reply reply, round_trip(req.request_id, false, wire::MsgType::kKernelOpRequest,
                                       payload, deadline, what));
  return std::get<wire::KernelOpReply>(std::move(reply));
}

}  // namespace ktstr::guest
