// HostChannel: the agent's requests to the host while a scenario runs
// (SNAPSHOT_REQUEST, KERNEL_OP_REQUEST) and the host's replies, which come
// back as frames on the same wire port (docs/wire.md). A reader thread owns
// reading the port: it assembles frames, ignores bad-CRC and unexpected
// ones, and hands each reply to the request waiting for its request_id.
// Requests may come from any thread; each blocks until its reply or its
// deadline.
//
// Interplay with the exit handshake (port.h): the host acknowledges the
// agent's last frame (EXIT or CRASH) with raw bytes on the same port, read
// by discard_host_input() / wait_host_ack(). The reader would swallow that
// ack, so stop() (joins the reader) must run before the agent sends its
// last frame. While the channel runs, the crash handler stops the reader
// too (power.h, set_crash_quiesce_fd) before it writes CRASH.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "guest/sink.h"
#include "util/fd.h"
#include "util/result.h"
#include "wire/assembler.h"
#include "wire/messages.h"

namespace ktstr::guest {

struct HostChannelStats {
  uint64_t replies = 0;     // delivered to a waiter
  uint64_t bad_crc = 0;     // frames with a bad CRC (ignored)
  uint64_t malformed = 0;   // reply frames whose payload did not decode
  uint64_t unmatched = 0;   // replies to no waiting request (late, duplicate, wrong type)
  uint64_t other = 0;       // frames of other types (ignored)
  uint64_t framing_errors = 0;  // the assembler's resyncs
};

class HostChannel {
 public:
  // Starts the reader on `port_fd` (non-blocking; not owned; must outlive
  // the channel). Requests go out through `sink` (same port).
  static Result<std::unique_ptr<HostChannel>> start(int port_fd, FrameSink& sink);
  ~HostChannel();  // stop()
  HostChannel(const HostChannel&) = delete;
  HostChannel& operator=(const HostChannel&) = delete;

  // Asks the host to capture (kCapture) a snapshot tagged `tag` (<= 64
  // bytes) or to arm a watchpoint (kWatch, tag = symbol). Returns the reply
  // as sent (status != 0 is the host's refusal; the caller decides).
  // kTimeout "host did not answer snapshot 'x' within N ms" without a reply;
  // kUnavailable once the channel stopped or the host closed the port.
  Result<wire::SnapshotReply> request_snapshot(std::string tag, wire::SnapshotKind kind,
                                               std::chrono::milliseconds deadline);
  // `req.request_id` is assigned here (whatever the caller set).
  Result<wire::KernelOpReply> kernel_op(wire::KernelOpRequest req,
                                        std::chrono::milliseconds deadline);

  // Stops and joins the reader; waiting requests fail with kUnavailable.
  // Idempotent. Bytes the host writes afterwards stay in the port for
  // discard_host_input() / wait_host_ack().
  void stop();
  HostChannelStats stats() const;

 private:
  using Reply = std::variant<std::monostate, wire::SnapshotReply, wire::KernelOpReply>;
  struct Pending {
    bool snapshot = false;  // which reply type it waits for
    Reply reply;            // monostate until answered
  };

  HostChannel(int port_fd, FrameSink& sink);
  void read_loop();
  void on_frame(wire::Frame&& frame);
  void deliver(uint64_t id, bool snapshot, Reply reply);
  // Registers `id`, sends `frame`, waits; returns the reply or an error.
  Result<Reply> round_trip(uint64_t id, bool snapshot, wire::MsgType type,
                           const wire::Bytes& payload, std::chrono::milliseconds deadline,
                           const std::string& what);

  int port_fd_;
  FrameSink& sink_;
  UniqueFd stop_fd_;  // eventfd: wakes the reader to stop
  wire::Assembler assembler_;
  std::atomic<uint64_t> next_id_{1};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Pending> pending_;
  std::optional<std::string> closed_;  // why no more replies can come
  HostChannelStats stats_;
  std::thread reader_;
};

}  // namespace ktstr::guest
