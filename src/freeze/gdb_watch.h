// GdbClient: the few pieces of the GDB remote serial protocol the freeze
// coordinator needs to put a write watchpoint on a guest kernel variable
// through QEMU's gdbstub (a unix socket; vm::MachineSpec::gdbstub): packets
// `$data#cs`, `+` acks, run-length and `}` escape decoding of replies,
// Z2/z2 (write watchpoint set/clear), `c`, 0x03 and `D`.
//
// QEMU 7.2 gdbstub behaviour this client is built around (system mode,
// measured against qemu-system-x86_64 7.2):
//   - attaching stops the VM; when it was running a T02 stop reply follows.
//     connect() consumes that stop, so the caller starts from "VM paused".
//   - ANY VM stop while a client is attached sends a stop reply: a QMP
//     `stop` gives "T02thread:01;", a watchpoint hit
//     "T05thread:01;watch:<addr>;" (run state "debug"). Both arrive on the
//     socket unasked; wait_stop() returns them, is_watch() tells them apart.
//   - QMP `cont` resumes a VM stopped by a watchpoint just like gdb `c`, and
//     the watchpoint stays armed: the two are interchangeable.
//   - a byte received while the VM RUNS stops the VM (and is dropped) unless
//     QEMU still awaits an ack for a packet it sent. So commands (set/clear/
//     resume/detach) may be sent only while the VM is stopped, and the
//     asynchronous stop replies are NOT acked: a surplus late ack would stop
//     a VM that QMP had resumed meanwhile. Replies to our commands are acked.
//   - no QStartNoAckMode in 7.2; Z2 under TCG accepts unaligned addresses;
//     length 0 or a range past the address space gives "E22"; an unknown
//     Z type or an unparsable packet gives an empty reply.
//
// Threading: one owner thread at a time (the coordinator's serve thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"
#include "vm/qmp.h"

namespace ktstr::freeze {

using vm::Deadline;

// GDB signal numbers QEMU uses in stop replies.
inline constexpr int kGdbSigInt = 2;   // QMP stop, 0x03, attach
inline constexpr int kGdbSigTrap = 5;  // breakpoint / watchpoint hit

struct StopEvent {
  int signal = 0;           // from "Txx" / "Sxx"
  std::string watch_kind;   // "watch" (write), "rwatch", "awatch"; empty: not a watch stop
  uint64_t watch_addr = 0;  // the watchpoint's address when watch_kind is set
  bool exited = false;      // "Wxx"/"Xxx": the target is gone
  std::string raw;          // the decoded packet, for messages
  bool is_watch() const { return watch_kind == "watch"; }
};

// Parses a stop reply packet ("T05thread:01;watch:46c;", "S02", "W00").
// Not a stop reply / malformed -> kProtocol error naming the packet.
Result<StopEvent> parse_stop_reply(std::string_view packet);

// Protocol framing, exposed for tests.
namespace gdbproto {
// "$<escaped data>#<checksum>"; '$', '#', '}' and '*' in data are escaped.
std::string frame(std::string_view data);
uint8_t checksum(std::string_view bytes);
// Undoes '}' escapes and "x*N" run-length encoding of a packet body.
// Bounded: fails if the result would exceed `max` bytes.
Result<std::string> decode(std::string_view body, size_t max);
}  // namespace gdbproto

class GdbClient {
 public:
  static constexpr size_t kMaxPacket = 64u << 10;
  static constexpr size_t kMaxQueuedStops = 64;
  static constexpr std::chrono::milliseconds kCommandTimeout{5000};

  // Connects to QEMU's gdbstub socket (retrying until `deadline` while the
  // socket does not exist yet / refuses), handshakes with qSupported, and
  // drops the stop reply caused by attaching. Afterwards the VM is stopped.
  static Result<GdbClient> connect(const std::filesystem::path& socket, Deadline deadline);

  GdbClient() = default;
  // Detaches (QEMU then resumes the VM) if still connected.
  ~GdbClient();
  GdbClient(GdbClient&&) noexcept = default;
  GdbClient& operator=(GdbClient&&) noexcept;
  GdbClient(const GdbClient&) = delete;
  GdbClient& operator=(const GdbClient&) = delete;

  // VM must be stopped. `Z2,addr,len`: "OK" -> ok; "Exx" -> kFailed
  // "gdbstub refused write watchpoint at 0x..+len: E22"; empty reply ->
  // kUnavailable "... not supported".
  Status set_write_watchpoint(uint64_t addr, unsigned len,
                              Deadline deadline = vm::deadline_in(kCommandTimeout));
  Status clear_write_watchpoint(uint64_t addr, unsigned len,
                                Deadline deadline = vm::deadline_in(kCommandTimeout));
  // VM must be stopped. `c`: no reply until the next stop (wait_stop()).
  Status resume();
  // VM should be running: stops it; its T02 arrives through wait_stop().
  Status interrupt();
  // The next stop reply (queued or read now); kTimeout when none arrives by
  // `deadline` (pass Clock::now() to poll), kIo when QEMU closed the socket.
  Result<StopEvent> wait_stop(Deadline deadline);
  // `D`, waiting for "OK" (QEMU then resumes the VM). Works in any run
  // state: a running VM is interrupted first. Closes the socket.
  Status detach(Deadline deadline = vm::deadline_in(kCommandTimeout));

  // Readable when QEMU sent something (poll() it next to other fds).
  int fd() const { return fd_.get(); }
  bool connected() const { return fd_.valid(); }
  // Stop replies already read while waiting for a command's reply.
  size_t queued_stops() const { return stops_.size(); }

 private:
  explicit GdbClient(UniqueFd fd) : fd_(std::move(fd)) {}
  Status send_packet(std::string_view data);
  Status send_raw(std::string_view bytes);
  // Next decoded packet; stop replies are queued when !want_stop.
  Result<std::string> read_packet(Deadline deadline);
  // A command's reply: skips (queues) stop replies and acks the reply.
  Result<std::string> command(std::string_view data, Deadline deadline);
  Status watchpoint(char op, uint64_t addr, unsigned len, Deadline deadline);
  void queue_stop(StopEvent ev);

  UniqueFd fd_;
  std::string in_;  // bytes read but not yet framed
  std::deque<StopEvent> stops_;
};

}  // namespace ktstr::freeze
