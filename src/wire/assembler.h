// Streaming frame assembler: turns the host's arbitrarily chunked byte
// stream from the guest port back into frames. Hostile-input safe: bounded
// memory, no out-of-bounds reads, resynchronises after framing errors.
// See docs/wire.md, "Assembler" for the exact resync rule.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "wire/detail/crc32.h"
#include "wire/protocol.h"

namespace ktstr::wire {

struct Frame {
  uint32_t msg_type = 0;  // raw: may be a type this build does not know
  std::vector<uint8_t> payload;
  bool crc_ok = false;
};

struct AssemblerStats {
  uint64_t frames = 0;                // frames yielded (crc_ok or not)
  uint64_t bytes = 0;                 // bytes fed
  uint64_t crc_failures = 0;          // frames yielded with crc_ok == false
  uint64_t framing_errors = 0;        // rejected headers (length, reserved)
  uint64_t resync_bytes_dropped = 0;  // bytes skipped while resynchronising
};

struct AssemblerLimits {
  uint32_t max_payload = kMaxPayload;  // longer headers are framing errors
};

class Assembler {
 public:
  using FrameSink = std::function<void(Frame&&)>;
  // Bytes copied from one feed() into the scan buffer at a time while
  // resynchronising. buffered() never exceeds max_payload + kScanWindow + 15.
  static constexpr size_t kScanWindow = 64u << 10;

  explicit Assembler(AssemblerLimits limits = {});

  // Consumes `bytes` (any chunking), calling on_frame for each complete frame
  // in stream order. on_frame must not call back into this assembler.
  void feed(std::span<const uint8_t> bytes, const FrameSink& on_frame);
  // Same, returning the frames completed by this chunk.
  std::vector<Frame> feed(std::span<const uint8_t> bytes);

  const AssemblerStats& stats() const { return stats_; }
  // Bytes held that are not yet part of a yielded frame.
  size_t buffered() const { return pending_.size() + payload_.size(); }
  bool resyncing() const { return resyncing_; }

 private:
  bool accept_header(const uint8_t* p);
  void begin_frame(const FrameSink& on_frame);
  size_t take_payload(const uint8_t* p, size_t n, const FrameSink& on_frame);
  void finish_frame(const FrameSink& on_frame);
  void scan_pending(const FrameSink& on_frame);

  AssemblerLimits limits_;
  AssemblerStats stats_;
  bool resyncing_ = false;
  // Header bytes split across chunks, and the scan window while resyncing.
  // Scanned with an offset and compacted once per scan, so never more than
  // kScanWindow + 15 bytes and never erased byte by byte.
  std::vector<uint8_t> pending_;
  // The frame being received: its header, the payload so far, and its CRC
  // computed while each piece is still in cache (payload_[0, crc_done_)).
  bool in_frame_ = false;
  FrameHeader header_{};
  std::vector<uint8_t> payload_;
  detail::CrcFolder crc_;
  size_t crc_done_ = 0;
};

}  // namespace ktstr::wire
