#include "wire/protocol.h"

#include <array>
#include <cstdio>

#include "wire/detail/le.h"

namespace ktstr::wire {
namespace {

struct TypeInfo {
  MsgType type;
  const char* name;
  bool internal;
};

constexpr TypeInfo kTypes[] = {
    {MsgType::kSysRdy, "SYS_RDY", true},
    {MsgType::kKernAddrs, "KERN_ADDRS", false},
    {MsgType::kSchedExit, "SCHED_EXIT", false},
    {MsgType::kScenarioStart, "SCENARIO_START", false},
    {MsgType::kScenarioPause, "SCENARIO_PAUSE", false},
    {MsgType::kScenarioResume, "SCENARIO_RESUME", false},
    {MsgType::kScenarioEnd, "SCENARIO_END", false},
    {MsgType::kStimulus, "STIMULUS", false},
    {MsgType::kTestResult, "TEST_RESULT", false},
    {MsgType::kExit, "EXIT", false},
    {MsgType::kCrash, "CRASH", false},
    {MsgType::kPayloadMetrics, "PAYLOAD_METRICS", false},
    {MsgType::kStdout, "STDOUT", false},
    {MsgType::kStderr, "STDERR", false},
    {MsgType::kSchedLog, "SCHED_LOG", false},
    {MsgType::kLifecycle, "LIFECYCLE", false},
    {MsgType::kDmesg, "DMESG", false},
    {MsgType::kKallsyms, "KALLSYMS", true},  // monitor input, not verdict data
    {MsgType::kSnapshotRequest, "SNAPSHOT_REQUEST", true},
    {MsgType::kSnapshotReply, "SNAPSHOT_REPLY", true},
    {MsgType::kKernelOpRequest, "KERNEL_OP_REQUEST", true},
    {MsgType::kKernelOpReply, "KERNEL_OP_REPLY", true},
};

constexpr auto kAllTypes = [] {
  std::array<MsgType, std::size(kTypes)> out{};
  for (size_t i = 0; i < out.size(); ++i) out[i] = kTypes[i].type;
  return out;
}();

// Every tag is four upper-case ASCII letters: bytes 0x41..0x5a, so each has
// bits 0x40 set and 0xa0 clear. Lets the assembler's resync scan reject most
// garbage without walking the table.
constexpr bool looks_like_tag(uint32_t raw) { return (raw & 0xe0e0e0e0u) == 0x40404040u; }
static_assert([] {
  for (const auto& t : kTypes)
    if (!looks_like_tag(static_cast<uint32_t>(t.type))) return false;
  return true;
}());

const TypeInfo* find(uint32_t raw) {
  if (!looks_like_tag(raw)) return nullptr;
  for (const auto& t : kTypes)
    if (static_cast<uint32_t>(t.type) == raw) return &t;
  return nullptr;
}

}  // namespace

bool is_coordinator_internal(MsgType t) {
  const TypeInfo* info = find(static_cast<uint32_t>(t));
  return info && info->internal;
}

bool is_known(uint32_t raw_type) { return find(raw_type) != nullptr; }

std::string_view type_name(uint32_t raw_type) {
  if (const TypeInfo* info = find(raw_type)) return info->name;
  thread_local char buf[32];
  int n = std::snprintf(buf, sizeof buf, "UNKNOWN(0x%08x)", raw_type);
  return std::string_view(buf, static_cast<size_t>(n));
}

std::span<const MsgType> all_types() { return kAllTypes; }

void encode_header(const FrameHeader& h, uint8_t out[kHeaderSize]) {
  detail::store_u32(out, h.msg_type);
  detail::store_u32(out + 4, h.length);
  detail::store_u32(out + 8, h.crc32);
  detail::store_u32(out + 12, h.reserved);
}

FrameHeader decode_header(const uint8_t in[kHeaderSize]) {
  return {detail::load_u32(in), detail::load_u32(in + 4), detail::load_u32(in + 8),
          detail::load_u32(in + 12)};
}

std::vector<uint8_t> encode_frame(MsgType type, std::span<const uint8_t> payload) {
  std::vector<uint8_t> out(kHeaderSize + payload.size());
  FrameHeader h{static_cast<uint32_t>(type), static_cast<uint32_t>(payload.size()),
                crc32_of(payload), 0};
  encode_header(h, out.data());
  if (!payload.empty()) std::copy(payload.begin(), payload.end(), out.begin() + kHeaderSize);
  return out;
}

std::vector<uint8_t> encode_frame(MsgType type, std::string_view payload) {
  return encode_frame(type, std::span<const uint8_t>(
                                reinterpret_cast<const uint8_t*>(payload.data()), payload.size()));
}

}  // namespace ktstr::wire
