// GuestLink: the host end of the wire for one VM. A reader thread pulls the
// bulk port's bytes through the assembler and the dispatcher, streams the
// guest command's output to callbacks as it arrives, and keeps the verdict
// entries and the guest's EXIT/CRASH for the run loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "util/fd.h"
#include "util/result.h"
#include "wire/assembler.h"
#include "wire/dispatcher.h"
#include "wire/latch.h"
#include "wire/sinks.h"

namespace ktstr::runner {

struct GuestLinkCallbacks {
  // Live guest output (STDOUT/STDERR frames), in arrival order, from the reader thread.
  std::function<void(std::span<const uint8_t>)> on_stdout;
  std::function<void(std::span<const uint8_t>)> on_stderr;
  // Every other verdict entry as it arrives (LIFECYCLE, DMESG, ...), optional.
  std::function<void(const wire::VerdictEntry&)> on_entry;
};

// What the guest told us, as far as the run loop needs it.
struct GuestReport {
  std::optional<int32_t> exit_status;  // first CRC-valid EXIT
  std::optional<std::string> crash;    // first CRASH text
  std::vector<wire::VerdictEntry> entries;  // verdict data other than STDOUT/STDERR
  std::map<std::string, uint64_t> frames_by_type;  // every assembled frame, by type name
  wire::AssemblerStats assembler;
};

class GuestLink {
 public:
  // Takes ownership of `bulk_fd` is NOT done: the Machine owns the socket;
  // the link only reads it. `sinks` must outlive the link.
  static Result<std::unique_ptr<GuestLink>> start(int bulk_fd, wire::Sinks& sinks,
                                                  GuestLinkCallbacks callbacks);
  ~GuestLink();  // stops and joins the reader thread
  GuestLink(const GuestLink&) = delete;
  GuestLink& operator=(const GuestLink&) = delete;

  // Fires when the guest sent EXIT or CRASH.
  const wire::Latch& finished() const { return finished_; }
  // Fires when the port reached end of stream (QEMU closed it) or failed.
  const wire::Latch& closed() const { return closed_; }
  // Stops reading (idempotent); after it, report() is final.
  void stop();
  // Writes one frame to the guest (SNAPSHOT_REPLY, KERNEL_OP_REPLY): whole,
  // under the same mutex as the EXIT/CRASH ack so the two never interleave.
  // The port may be non-blocking: waits for room up to kSendTimeout of no
  // progress, then fails. Refused once the guest sent EXIT or CRASH: the
  // agent then reads any byte as the ack of its last frame (guest/port.h).
  Status send(wire::MsgType type, std::span<const uint8_t> payload);
  static constexpr std::chrono::milliseconds kSendTimeout{5000};
  GuestReport report() const;

 private:
  GuestLink(int bulk_fd, wire::Sinks& sinks, GuestLinkCallbacks callbacks);
  void read_loop();
  void handle(wire::Frame&& frame);

  int bulk_fd_;
  wire::Sinks& sinks_;
  GuestLinkCallbacks callbacks_;
  wire::Assembler assembler_;
  wire::Latch finished_;
  wire::Latch closed_;
  UniqueFd stop_fd_;  // eventfd that wakes the reader to stop
  std::mutex write_mu_;  // every write to bulk_fd_: replies and the ack
  bool acked_ = false;   // under write_mu_: the ack went out, no more frames
  mutable std::mutex mu_;
  GuestReport report_;
  std::thread thread_;
};

}  // namespace ktstr::runner
