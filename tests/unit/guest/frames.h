// Test helper: collects everything written to a pipe on a thread and
// decodes it as wire frames, checking each frame's header and CRC.
#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "util/fd.h"
#include "wire/protocol.h"

namespace ktstr::guest::testing {

struct Frame {
  wire::MsgType type;
  std::string payload;
};

class PipeCollector {
 public:
  PipeCollector();
  ~PipeCollector();
  int write_fd() const { return write_.get(); }
  // Closes the write end and returns all bytes once the reader hit EOF.
  const std::string& finish();

 private:
  UniqueFd read_, write_;
  std::string bytes_;
  std::thread reader_;
};

// Decodes a byte stream of frames; fails the current test on a bad header,
// a CRC mismatch or trailing bytes.
std::vector<Frame> decode_frames(const std::string& bytes);

// Concatenated payloads of all frames of `type`.
std::string payloads_of(const std::vector<Frame>& frames, wire::MsgType type);

}  // namespace ktstr::guest::testing
