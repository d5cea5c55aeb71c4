// Guest-side frame writer: header + payload in one writev, looping on short
// writes, EINTR and (for non-blocking fds) EAGAIN; big stream payloads are
// split into several frames.
#pragma once

#include <chrono>
#include <mutex>
#include <span>

#include "util/result.h"
#include "wire/protocol.h"

namespace ktstr::wire {

// Longest time a write may make no progress on a non-blocking fd.
constexpr std::chrono::milliseconds kWriteStallTimeout{30'000};

// One frame; payload <= kMaxPayload. Not safe for concurrent writers on the
// same fd (frames could interleave): share a FrameWriter instead.
Status write_frame(int fd, MsgType type, std::span<const uint8_t> payload);

// Raw-byte streams (STDOUT, STDERR, SCHED_LOG, DMESG) of any length, as
// frames of at most max_chunk bytes. Empty data writes nothing. Other types
// are refused: their payloads are not meaningful when split.
Status write_stream(int fd, MsgType type, std::span<const uint8_t> data,
                    size_t max_chunk = kStreamChunk);

// A port shared by several threads: each frame is written whole under a
// mutex. Does not own the fd.
class FrameWriter {
 public:
  explicit FrameWriter(int fd) : fd_(fd) {}
  Status write(MsgType type, std::span<const uint8_t> payload);
  // Chunks are separate frames: other threads' frames may fall between them.
  Status write_stream(MsgType type, std::span<const uint8_t> data, size_t max_chunk = kStreamChunk);
  int fd() const { return fd_; }

 private:
  int fd_;
  std::mutex mu_;
};

}  // namespace ktstr::wire
