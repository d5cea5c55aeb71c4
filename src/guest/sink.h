// FrameSink: the agent's one way to put wire frames on the port (wire/writer.h
// underneath): whole messages as one frame, output streams split into
// frames of at most kMaxChunk bytes. Thread-safe: each frame is written
// whole under a mutex, so the scenario, the KALLSYMS sender and host
// requests (host_channel.h) can share the port.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "util/result.h"
#include "wire/protocol.h"
#include "wire/writer.h"

namespace ktstr::guest {

class FrameSink {
 public:
  static constexpr size_t kMaxChunk = wire::kStreamChunk;

  explicit FrameSink(int fd) : writer_(fd) {}  // does not own fd

  // One frame (SYS_RDY, KERN_ADDRS, LIFECYCLE, EXIT, CRASH, ...).
  Status send(wire::MsgType type, std::span<const uint8_t> payload);
  Status send(wire::MsgType type, std::string_view payload);
  // STDOUT, STDERR, DMESG bytes: as many frames as needed, none if empty.
  Status stream(wire::MsgType type, std::span<const uint8_t> data);
  Status stream(wire::MsgType type, std::string_view data);

  int fd() const { return writer_.fd(); }

 private:
  wire::FrameWriter writer_;
};

}  // namespace ktstr::guest
