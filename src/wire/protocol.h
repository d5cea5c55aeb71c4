// The ktstr wire protocol: framing shared by the guest agent (writer) and
// the host (reader). See docs/wire.md for the byte layout of every message
// and the host's rule for each. The guest is untrusted: nothing in a frame
// is believed until the host-side dispatcher has validated it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace ktstr::wire {

// A message type is a 4-character tag stored little-endian, so a hexdump of
// the stream shows the tag text.
constexpr uint32_t tag(const char (&s)[5]) {
  return static_cast<uint32_t>(static_cast<uint8_t>(s[0])) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(s[3])) << 24;
}

enum class MsgType : uint32_t {
  kSysRdy = tag("SRDY"),     // guest agent is up (empty payload)
  kKernAddrs = tag("KADR"),  // KASLR inputs, 24 bytes
  kSchedExit = tag("SEXT"),  // scheduler under test exited/ejected
  kScenarioStart = tag("SCST"),
  kScenarioPause = tag("SCPA"),
  kScenarioResume = tag("SCRE"),
  kScenarioEnd = tag("SCEN"),
  kStimulus = tag("STIM"),  // a scenario step began
  kTestResult = tag("TRES"),
  kExit = tag("EXIT"),   // guest command finished
  kCrash = tag("CRSH"),  // guest agent crashed
  kPayloadMetrics = tag("PMET"),
  kStdout = tag("SOUT"),
  kStderr = tag("SERR"),
  kSchedLog = tag("SLOG"),
  kLifecycle = tag("LIFE"),
  kDmesg = tag("DMSG"),
  kKallsyms = tag("KSYM"),  // zstd-compressed /proc/kallsyms (monitor)
  kSnapshotRequest = tag("SNRQ"),
  kSnapshotReply = tag("SNRP"),  // host -> guest
  kKernelOpRequest = tag("KORQ"),
  kKernelOpReply = tag("KORP"),  // host -> guest
};

// Coordinator-internal messages steer the run and are never verdict data.
bool is_coordinator_internal(MsgType t);
// True for every type listed above.
bool is_known(uint32_t raw_type);
// "SYS_RDY", "STDOUT", ... ; "UNKNOWN(0x...)" otherwise (that text lives in
// a thread-local buffer, valid until this thread's next call).
std::string_view type_name(uint32_t raw_type);
// Every type above, in declaration order.
std::span<const MsgType> all_types();

// 16-byte little-endian frame header; `crc32` covers the payload only
// (zlib CRC-32). `reserved` must be zero.
struct FrameHeader {
  uint32_t msg_type;
  uint32_t length;
  uint32_t crc32;
  uint32_t reserved;
};
static_assert(sizeof(FrameHeader) == 16);

constexpr size_t kHeaderSize = sizeof(FrameHeader);
constexpr uint32_t kMaxPayload = 16u << 20;  // 16 MiB
// Stream payloads (STDOUT, STDERR, SCHED_LOG, DMESG) are split into frames
// of at most this size by the writer.
constexpr size_t kStreamChunk = 64u << 10;

// Explicit little-endian (de)serialisation, independent of host layout.
void encode_header(const FrameHeader& h, uint8_t out[kHeaderSize]);
FrameHeader decode_header(const uint8_t in[kHeaderSize]);

// zlib's CRC-32 (same values as zlib crc32()); uses PCLMULQDQ/VPCLMULQDQ
// when the CPU has them, zlib otherwise.
uint32_t crc32_of(std::span<const uint8_t> data);
// Running form: crc32_update(crc32_update(0, a), b) == crc32_of(a ++ b).
uint32_t crc32_update(uint32_t crc, std::span<const uint8_t> data);

// Header + payload, ready to write to the port. The payload must be at most
// kMaxPayload bytes (the reader rejects longer frames); writer.h splits
// streams.
std::vector<uint8_t> encode_frame(MsgType type, std::span<const uint8_t> payload);
std::vector<uint8_t> encode_frame(MsgType type, std::string_view payload);

}  // namespace ktstr::wire
