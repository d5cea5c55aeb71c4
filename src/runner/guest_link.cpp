#include "runner/guest_link.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

#include "wire/messages.h"

namespace ktstr::runner {

Result<std::unique_ptr<GuestLink>> GuestLink::start(int bulk_fd, wire::Sinks& sinks,
                                                    GuestLinkCallbacks callbacks) {
  std::unique_ptr<GuestLink> link(new GuestLink(bulk_fd, sinks, std::move(callbacks)));
  KTSTR_TRY(link->finished_.open(), "guest link");
  KTSTR_TRY(link->closed_.open(), "guest link");
  link->stop_fd_.reset(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!link->stop_fd_.valid()) return io_error("guest link: eventfd");
  link->thread_ = std::thread([l = link.get()] { l->read_loop(); });
  return link;
}

GuestLink::GuestLink(int bulk_fd, wire::Sinks& sinks, GuestLinkCallbacks callbacks)
    : bulk_fd_(bulk_fd), sinks_(sinks), callbacks_(std::move(callbacks)) {}

GuestLink::~GuestLink() { stop(); }

void GuestLink::stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  (void)!::write(stop_fd_.get(), &one, sizeof one);
  thread_.join();
}

namespace {

// Writes all of `data` to a possibly non-blocking fd; fails after `stall`
// without progress.
Status write_fully(int fd, std::span<const uint8_t> data, std::chrono::milliseconds stall) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return io_error("writing to the guest port");
    pollfd p{fd, POLLOUT, 0};
    int r = ::poll(&p, 1, static_cast<int>(stall.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return io_error("polling the guest port");
    if (r == 0)
      return timeout_error("the guest port took no bytes for " + std::to_string(stall.count()) +
                           " ms (" + std::to_string(off) + " of " + std::to_string(data.size()) +
                           " written)");
    if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return unavailable("the guest port is closed");
  }
  return {};
}

}  // namespace

Status GuestLink::send(wire::MsgType type, std::span<const uint8_t> payload) {
  if (payload.size() > wire::kMaxPayload)
    return invalid_argument("frame payload of " + std::to_string(payload.size()) +
                            " bytes exceeds the 16 MiB limit");
  const auto frame = wire::encode_frame(type, payload);
  std::lock_guard lock(write_mu_);
  if (acked_)
    return unavailable(std::string(wire::type_name(static_cast<uint32_t>(type))) +
                       " not sent: the guest already sent its last frame");
  KTSTR_TRY(write_fully(bulk_fd_, frame, kSendTimeout),
            "sending " + std::string(wire::type_name(static_cast<uint32_t>(type))));
  return {};
}

GuestReport GuestLink::report() const {
  std::lock_guard lock(mu_);
  GuestReport r = report_;
  return r;
}

void GuestLink::read_loop() {
  std::vector<uint8_t> buf(64 << 10);
  while (true) {
    pollfd pfds[2] = {{bulk_fd_, POLLIN, 0}, {stop_fd_.get(), POLLIN, 0}};
    int n = ::poll(pfds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (pfds[1].revents) return;  // asked to stop: not an end of stream
    if (!(pfds[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    ssize_t got = ::read(bulk_fd_, buf.data(), buf.size());
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) break;
    assembler_.feed(std::span<const uint8_t>(buf.data(), static_cast<size_t>(got)),
                    [this](wire::Frame&& f) { handle(std::move(f)); });
    std::lock_guard lock(mu_);
    report_.assembler = assembler_.stats();
  }
  closed_.fire();
}

void GuestLink::handle(wire::Frame&& frame) {
  uint32_t type = frame.msg_type;
  bool crc_ok = frame.crc_ok;
  {
    std::lock_guard lock(mu_);
    ++report_.frames_by_type[std::string(wire::type_name(type))];
  }
  auto entry = wire::dispatch(std::move(frame), sinks_);
  if (!entry) return;
  auto msg = static_cast<wire::MsgType>(type);
  // Output streams straight through; a bad CRC still shows (consumers decide),
  // but the run loop only believes CRC-valid EXIT frames.
  if (msg == wire::MsgType::kStdout) {
    if (callbacks_.on_stdout) callbacks_.on_stdout(entry->payload);
    return;
  }
  if (msg == wire::MsgType::kStderr) {
    if (callbacks_.on_stderr) callbacks_.on_stderr(entry->payload);
    return;
  }
  if (callbacks_.on_entry) callbacks_.on_entry(*entry);
  bool done = false;
  {
    std::lock_guard lock(mu_);
    if (msg == wire::MsgType::kExit && crc_ok && !report_.exit_status) {
      if (auto e = wire::decode_exit(entry->payload); e.ok()) {
        report_.exit_status = e->status;
        done = true;
      }
    }
    if (msg == wire::MsgType::kCrash && !report_.crash) {
      report_.crash = std::string(wire::as_text(entry->payload));
      done = true;
    }
    report_.entries.push_back(std::move(*entry));
  }
  if (done) {
    // The agent waits for one byte back before powering off: only then does
    // it know every queued frame reached us (see guest/port.h).
    const uint8_t ack = 1;
    {
      std::lock_guard lock(write_mu_);  // never inside a reply frame
      acked_ = true;
      (void)!::write(bulk_fd_, &ack, 1);
    }
    finished_.fire();
  }
}

}  // namespace ktstr::runner
