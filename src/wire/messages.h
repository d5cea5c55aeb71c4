// Payload encodings of every wire message: one definition, used by the guest
// to encode and by the host to decode. Explicit little-endian fields, never a
// struct memcpy. Decoders take untrusted bytes and bounds-check everything;
// they return kProtocol errors naming the message and field. Byte layouts:
// docs/wire.md.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::wire {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

// Views of text payloads (CRASH, TEST_RESULT, PAYLOAD_METRICS) and text
// fields. No validation: the bytes are whatever the guest sent.
std::string_view as_text(ByteSpan payload);
ByteSpan as_bytes(std::string_view text);

// KERN_ADDRS: {u64 phys_base + 1, u64 page_offset_base, u64 _text + 1}.
// The +1 bias makes 0 mean "unknown"; page_offset_base 0 is unknown as is.
struct KernAddrs {
  std::optional<uint64_t> phys_base;    // UINT64_MAX is not encodable (sent as unknown)
  uint64_t page_offset_base = 0;        // 0 = unknown
  std::optional<uint64_t> kernel_text;  // runtime address of _text
  bool operator==(const KernAddrs&) const = default;
};
constexpr size_t kKernAddrsSize = 24;
Bytes encode(const KernAddrs& m);
Result<KernAddrs> decode_kern_addrs(ByteSpan p);

// EXIT: {i32 status}: the command's exit code, or 128 + signal.
struct ExitStatus {
  int32_t status = 0;
  bool operator==(const ExitStatus&) const = default;
};
constexpr size_t kExitStatusSize = 4;
Bytes encode(const ExitStatus& m);
Result<ExitStatus> decode_exit(ByteSpan p);

// LIFECYCLE: {u32 phase} + UTF-8 detail text.
enum class LifecyclePhase : uint32_t {
  kMounted = 1,   // /proc, /sys, cgroup2, ... mounted
  kPortOpen = 2,  // wire port opened (first frame the agent can send)
  kCommandStart = 3,
  kCommandEnd = 4,
  kSchedulerStart = 5,  // scheduler under test being loaded
  kSchedulerAttached = 6,
  kScenarioRunning = 7,
  kScenarioDone = 8,
  kPoweroff = 9,  // agent is about to power the VM off
};
std::string_view phase_name(LifecyclePhase p);
struct Lifecycle {
  LifecyclePhase phase = LifecyclePhase::kMounted;
  std::string detail;
  bool operator==(const Lifecycle&) const = default;
};
constexpr size_t kLifecycleFixedSize = 4;
Bytes encode(const Lifecycle& m);
Result<Lifecycle> decode_lifecycle(ByteSpan p);  // unknown phase is an error

// STIMULUS: a scenario step began.
// {u32 step_index, u32 op_count, u32 cgroup_count, u32 worker_count,
//  u64 total_iterations, u64 guest_monotonic_ns}. The timestamp (guest
// CLOCK_MONOTONIC at step start, 0 = unknown) lets reports line steps up
// with guest-side logs; the host never uses it for timing decisions.
struct Stimulus {
  uint32_t step_index = 0;
  uint32_t op_count = 0;
  uint32_t cgroup_count = 0;
  uint32_t worker_count = 0;
  uint64_t total_iterations = 0;
  uint64_t guest_monotonic_ns = 0;
  bool operator==(const Stimulus&) const = default;
};
constexpr size_t kStimulusSize = 32;
Bytes encode(const Stimulus& m);
Result<Stimulus> decode_stimulus(ByteSpan p);

// SCENARIO_START: {u64 workload_duration_ms} + name (UTF-8, <= 256 bytes).
// SCENARIO_PAUSE / SCENARIO_RESUME / SCENARIO_END have empty payloads: the
// host times them with its own clock.
struct ScenarioStart {
  uint64_t workload_duration_ms = 0;
  std::string name;
  bool operator==(const ScenarioStart&) const = default;
};
constexpr size_t kScenarioStartFixedSize = 8;
constexpr size_t kScenarioNameMax = 256;
Result<Bytes> encode(const ScenarioStart& m);  // fails if name is too long
Result<ScenarioStart> decode_scenario_start(ByteSpan p);

// SCHED_EXIT: {i32 exit_kind} + reason text (sched_ext exit kind, or a
// negative value for "the scheduler process died").
struct SchedExit {
  int32_t exit_kind = 0;
  std::string reason;
  bool operator==(const SchedExit&) const = default;
};
constexpr size_t kSchedExitFixedSize = 4;
Bytes encode(const SchedExit& m);
Result<SchedExit> decode_sched_exit(ByteSpan p);

// SNAPSHOT_REQUEST (guest -> host), fixed 80 bytes:
// {u64 request_id (!= 0), u32 kind, u32 tag_len (<= 64), u8 tag[64]}.
// Tag bytes past tag_len are zero on encode and ignored on decode.
enum class SnapshotKind : uint32_t { kCapture = 1, kWatch = 2 };
struct SnapshotRequest {
  uint64_t request_id = 0;
  SnapshotKind kind = SnapshotKind::kCapture;
  std::string tag;
  bool operator==(const SnapshotRequest&) const = default;
};
constexpr size_t kSnapshotTagMax = 64;
constexpr size_t kSnapshotRequestSize = 80;
Result<Bytes> encode(const SnapshotRequest& m);
Result<SnapshotRequest> decode_snapshot_request(ByteSpan p);

// SNAPSHOT_REPLY (host -> guest): {u64 request_id, u32 status (0 = ok),
// u32 reason_len} + reason (exactly reason_len bytes).
struct SnapshotReply {
  uint64_t request_id = 0;
  uint32_t status = 0;
  std::string reason;
  bool operator==(const SnapshotReply&) const = default;
};
constexpr size_t kSnapshotReplyFixedSize = 16;
Bytes encode(const SnapshotReply& m);
Result<SnapshotReply> decode_snapshot_reply(ByteSpan p);

// KERNEL_OP_REQUEST (guest -> host): read or write kernel memory through the
// host's view of guest RAM. 44-byte fixed part
// {u64 request_id, u8 op, u8 target, u8 width, u8 pad (0), u32 cpu, u32 pid,
//  u64 address, u64 value, u16 symbol_len, u16 field_len, u32 tag_len}
// then symbol, field path, tag bytes; lengths must add up to the payload size
// exactly. Target rules: kSymbol needs a symbol; kKva an address; kPercpuField
// a symbol (per-CPU variable) and a field path, at `cpu`; kTaskField a field
// path, of task `pid`. `value` is written for kWrite and must fit in width.
enum class KernelOp : uint8_t { kRead = 1, kWrite = 2 };
enum class KernelTarget : uint8_t { kSymbol = 1, kKva = 2, kPercpuField = 3, kTaskField = 4 };
struct KernelOpRequest {
  uint64_t request_id = 0;  // != 0
  KernelOp op = KernelOp::kRead;
  KernelTarget target = KernelTarget::kSymbol;
  uint8_t width = 8;  // bytes: 1, 2, 4 or 8
  uint32_t cpu = 0;
  uint32_t pid = 0;
  uint64_t address = 0;
  uint64_t value = 0;
  std::string symbol;  // <= 65535 bytes
  std::string field;   // <= 65535 bytes, e.g. "se.vruntime"
  std::string tag;     // free text; the host keeps <= 256 bytes (dispatcher)
  bool operator==(const KernelOpRequest&) const = default;
};
constexpr size_t kKernelOpRequestFixedSize = 44;
Result<Bytes> encode(const KernelOpRequest& m);  // validates like decode
Result<KernelOpRequest> decode_kernel_op_request(ByteSpan p);

// KERNEL_OP_REPLY (host -> guest): {u64 request_id, u32 status (0 = ok),
// u32 reason_len, u64 value} + reason (exactly reason_len bytes).
struct KernelOpReply {
  uint64_t request_id = 0;
  uint32_t status = 0;
  uint64_t value = 0;  // the value read (reads), 0 otherwise
  std::string reason;
  bool operator==(const KernelOpReply&) const = default;
};
constexpr size_t kKernelOpReplyFixedSize = 24;
Bytes encode(const KernelOpReply& m);
Result<KernelOpReply> decode_kernel_op_reply(ByteSpan p);

// TEST_RESULT and PAYLOAD_METRICS: opaque UTF-8 JSON text (schemas come
// later). CRASH: UTF-8 text. STDOUT, STDERR, SCHED_LOG, DMESG: raw bytes.
// KALLSYMS: zstd-compressed /proc/kallsyms. SYS_RDY: empty.

}  // namespace ktstr::wire
