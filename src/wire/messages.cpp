#include "wire/messages.h"

#include <limits>

#include "wire/detail/le.h"

namespace ktstr::wire {
namespace {

using detail::Reader;
using detail::Writer;

// Byte count of a sequence of wire fields, for the static_asserts below.
template <typename... Fields>
constexpr size_t wire_size() {
  return (sizeof(Fields) + ... + 0);
}
static_assert(wire_size<uint64_t, uint64_t, uint64_t>() == kKernAddrsSize);
static_assert(wire_size<int32_t>() == kExitStatusSize);
static_assert(wire_size<uint32_t>() == kLifecycleFixedSize);
static_assert(wire_size<uint32_t, uint32_t, uint32_t, uint32_t, uint64_t, uint64_t>() ==
              kStimulusSize);
static_assert(wire_size<uint64_t>() == kScenarioStartFixedSize);
static_assert(wire_size<int32_t>() == kSchedExitFixedSize);
static_assert(wire_size<uint64_t, uint32_t, uint32_t, uint8_t[kSnapshotTagMax]>() ==
              kSnapshotRequestSize);
static_assert(wire_size<uint64_t, uint32_t, uint32_t>() == kSnapshotReplyFixedSize);
static_assert(wire_size<uint64_t, uint8_t, uint8_t, uint8_t, uint8_t, uint32_t, uint32_t, uint64_t,
                        uint64_t, uint16_t, uint16_t, uint32_t>() == kKernelOpRequestFixedSize);
static_assert(wire_size<uint64_t, uint32_t, uint32_t, uint64_t>() == kKernelOpReplyFixedSize);

Error bad(std::string_view msg, const std::string& what) {
  return protocol_error(std::string(msg) + ": " + what);
}

Status expect_size(std::string_view msg, ByteSpan p, size_t want) {
  if (p.size() != want)
    return bad(
        msg, "payload is " + std::to_string(p.size()) + " bytes, expected " + std::to_string(want));
  return {};
}

Status expect_at_least(std::string_view msg, ByteSpan p, size_t want) {
  if (p.size() < want)
    return bad(msg, "payload is " + std::to_string(p.size()) + " bytes, expected at least " +
                        std::to_string(want));
  return {};
}

int32_t to_i32(uint32_t v) { return static_cast<int32_t>(v); }  // two's complement, C++20

}  // namespace

std::string_view as_text(ByteSpan payload) {
  return {reinterpret_cast<const char*>(payload.data()), payload.size()};
}

ByteSpan as_bytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

// ---- KERN_ADDRS

Bytes encode(const KernAddrs& m) {
  auto biased = [](const std::optional<uint64_t>& v) -> uint64_t {
    return v && *v != std::numeric_limits<uint64_t>::max() ? *v + 1 : 0;
  };
  return Writer(kKernAddrsSize)
      .u64(biased(m.phys_base))
      .u64(m.page_offset_base)
      .u64(biased(m.kernel_text))
      .take();
}

Result<KernAddrs> decode_kern_addrs(ByteSpan p) {
  KTSTR_TRY(expect_size("KERN_ADDRS", p, kKernAddrsSize));
  Reader r(p);
  auto unbias = [](uint64_t v) -> std::optional<uint64_t> {
    return v ? std::optional<uint64_t>(v - 1) : std::nullopt;
  };
  KernAddrs m;
  m.phys_base = unbias(r.u64());
  m.page_offset_base = r.u64();
  m.kernel_text = unbias(r.u64());
  return m;
}

// ---- EXIT

Bytes encode(const ExitStatus& m) {
  return Writer(kExitStatusSize).u32(static_cast<uint32_t>(m.status)).take();
}

Result<ExitStatus> decode_exit(ByteSpan p) {
  KTSTR_TRY(expect_size("EXIT", p, kExitStatusSize));
  Reader r(p);
  return ExitStatus{to_i32(r.u32())};
}

// ---- LIFECYCLE

std::string_view phase_name(LifecyclePhase p) {
  switch (p) {
    case LifecyclePhase::kMounted:
      return "mounted";
    case LifecyclePhase::kPortOpen:
      return "port_open";
    case LifecyclePhase::kCommandStart:
      return "command_start";
    case LifecyclePhase::kCommandEnd:
      return "command_end";
    case LifecyclePhase::kSchedulerStart:
      return "scheduler_start";
    case LifecyclePhase::kSchedulerAttached:
      return "scheduler_attached";
    case LifecyclePhase::kScenarioRunning:
      return "scenario_running";
    case LifecyclePhase::kScenarioDone:
      return "scenario_done";
    case LifecyclePhase::kPoweroff:
      return "poweroff";
  }
  return "unknown";
}

Bytes encode(const Lifecycle& m) {
  return Writer(kLifecycleFixedSize + m.detail.size())
      .u32(static_cast<uint32_t>(m.phase))
      .bytes(m.detail)
      .take();
}

Result<Lifecycle> decode_lifecycle(ByteSpan p) {
  KTSTR_TRY(expect_at_least("LIFECYCLE", p, kLifecycleFixedSize));
  Reader r(p);
  uint32_t phase = r.u32();
  if (phase < static_cast<uint32_t>(LifecyclePhase::kMounted) ||
      phase > static_cast<uint32_t>(LifecyclePhase::kPoweroff))
    return bad("LIFECYCLE", "unknown phase " + std::to_string(phase));
  return Lifecycle{static_cast<LifecyclePhase>(phase), std::string(r.rest())};
}

// ---- STIMULUS

Bytes encode(const Stimulus& m) {
  return Writer(kStimulusSize)
      .u32(m.step_index)
      .u32(m.op_count)
      .u32(m.cgroup_count)
      .u32(m.worker_count)
      .u64(m.total_iterations)
      .u64(m.guest_monotonic_ns)
      .take();
}

Result<Stimulus> decode_stimulus(ByteSpan p) {
  KTSTR_TRY(expect_size("STIMULUS", p, kStimulusSize));
  Reader r(p);
  Stimulus m;
  m.step_index = r.u32();
  m.op_count = r.u32();
  m.cgroup_count = r.u32();
  m.worker_count = r.u32();
  m.total_iterations = r.u64();
  m.guest_monotonic_ns = r.u64();
  return m;
}

// ---- SCENARIO_START

Result<Bytes> encode(const ScenarioStart& m) {
  if (m.name.size() > kScenarioNameMax)
    return invalid_argument("SCENARIO_START: name is " + std::to_string(m.name.size()) +
                            " bytes, limit " + std::to_string(kScenarioNameMax) +
                            "; shorten the scenario name");
  return Writer(kScenarioStartFixedSize + m.name.size())
      .u64(m.workload_duration_ms)
      .bytes(m.name)
      .take();
}

Result<ScenarioStart> decode_scenario_start(ByteSpan p) {
  KTSTR_TRY(expect_at_least("SCENARIO_START", p, kScenarioStartFixedSize));
  if (p.size() > kScenarioStartFixedSize + kScenarioNameMax)
    return bad("SCENARIO_START", "name longer than " + std::to_string(kScenarioNameMax) + " bytes");
  Reader r(p);
  ScenarioStart m;
  m.workload_duration_ms = r.u64();
  m.name = std::string(r.rest());
  return m;
}

// ---- SCHED_EXIT

Bytes encode(const SchedExit& m) {
  return Writer(kSchedExitFixedSize + m.reason.size())
      .u32(static_cast<uint32_t>(m.exit_kind))
      .bytes(m.reason)
      .take();
}

Result<SchedExit> decode_sched_exit(ByteSpan p) {
  KTSTR_TRY(expect_at_least("SCHED_EXIT", p, kSchedExitFixedSize));
  Reader r(p);
  SchedExit m;
  m.exit_kind = to_i32(r.u32());
  m.reason = std::string(r.rest());
  return m;
}

// ---- SNAPSHOT_REQUEST / SNAPSHOT_REPLY

Result<Bytes> encode(const SnapshotRequest& m) {
  if (m.request_id == 0) return invalid_argument("SNAPSHOT_REQUEST: request_id must be nonzero");
  if (m.tag.size() > kSnapshotTagMax)
    return invalid_argument("SNAPSHOT_REQUEST: tag is " + std::to_string(m.tag.size()) +
                            " bytes, limit " + std::to_string(kSnapshotTagMax) +
                            "; use a shorter tag");
  return Writer(kSnapshotRequestSize)
      .u64(m.request_id)
      .u32(static_cast<uint32_t>(m.kind))
      .u32(static_cast<uint32_t>(m.tag.size()))
      .padded(m.tag, kSnapshotTagMax)
      .take();
}

Result<SnapshotRequest> decode_snapshot_request(ByteSpan p) {
  KTSTR_TRY(expect_size("SNAPSHOT_REQUEST", p, kSnapshotRequestSize));
  Reader r(p);
  SnapshotRequest m;
  m.request_id = r.u64();
  uint32_t kind = r.u32();
  uint32_t tag_len = r.u32();
  std::string_view tag = r.text(kSnapshotTagMax);
  if (m.request_id == 0) return bad("SNAPSHOT_REQUEST", "request_id is 0");
  if (kind != static_cast<uint32_t>(SnapshotKind::kCapture) &&
      kind != static_cast<uint32_t>(SnapshotKind::kWatch))
    return bad("SNAPSHOT_REQUEST", "unknown kind " + std::to_string(kind));
  if (tag_len > kSnapshotTagMax)
    return bad("SNAPSHOT_REQUEST", "tag_len " + std::to_string(tag_len) + " exceeds " +
                                       std::to_string(kSnapshotTagMax));
  m.kind = static_cast<SnapshotKind>(kind);
  m.tag = std::string(tag.substr(0, tag_len));
  return m;
}

Bytes encode(const SnapshotReply& m) {
  return Writer(kSnapshotReplyFixedSize + m.reason.size())
      .u64(m.request_id)
      .u32(m.status)
      .u32(static_cast<uint32_t>(m.reason.size()))
      .bytes(m.reason)
      .take();
}

Result<SnapshotReply> decode_snapshot_reply(ByteSpan p) {
  KTSTR_TRY(expect_at_least("SNAPSHOT_REPLY", p, kSnapshotReplyFixedSize));
  Reader r(p);
  SnapshotReply m;
  m.request_id = r.u64();
  m.status = r.u32();
  uint32_t reason_len = r.u32();
  if (reason_len != r.remaining())
    return bad("SNAPSHOT_REPLY", "reason_len " + std::to_string(reason_len) + " but " +
                                     std::to_string(r.remaining()) + " bytes follow");
  m.reason = std::string(r.rest());
  return m;
}

// ---- KERNEL_OP_REQUEST / KERNEL_OP_REPLY

namespace {

// The rules shared by encode and decode (everything but the lengths).
Status check_kernel_op(const KernelOpRequest& m, uint32_t op, uint32_t target) {
  const char* msg = "KERNEL_OP_REQUEST";
  if (m.request_id == 0) return bad(msg, "request_id is 0");
  if (op != static_cast<uint32_t>(KernelOp::kRead) && op != static_cast<uint32_t>(KernelOp::kWrite))
    return bad(msg, "unknown op " + std::to_string(op));
  if (target < static_cast<uint32_t>(KernelTarget::kSymbol) ||
      target > static_cast<uint32_t>(KernelTarget::kTaskField))
    return bad(msg, "unknown target kind " + std::to_string(target));
  if (m.width != 1 && m.width != 2 && m.width != 4 && m.width != 8)
    return bad(msg, "width " + std::to_string(m.width) + " is not 1, 2, 4 or 8");
  auto t = static_cast<KernelTarget>(target);
  bool needs_symbol = t == KernelTarget::kSymbol || t == KernelTarget::kPercpuField;
  bool needs_field = t == KernelTarget::kPercpuField || t == KernelTarget::kTaskField;
  if (needs_symbol && m.symbol.empty()) return bad(msg, "target needs a symbol");
  if (needs_field && m.field.empty()) return bad(msg, "target needs a field path");
  if (t == KernelTarget::kKva && m.address == 0) return bad(msg, "kva target needs an address");
  if (op == static_cast<uint32_t>(KernelOp::kWrite) && m.width < 8 &&
      (m.value >> (8 * m.width)) != 0)
    return bad(msg, "value does not fit in " + std::to_string(m.width) + " bytes");
  return {};
}

}  // namespace

Result<Bytes> encode(const KernelOpRequest& m) {
  if (m.symbol.size() > UINT16_MAX || m.field.size() > UINT16_MAX || m.tag.size() > UINT32_MAX)
    return invalid_argument("KERNEL_OP_REQUEST: symbol and field must be <= 65535 bytes");
  Status st = check_kernel_op(m, static_cast<uint32_t>(m.op), static_cast<uint32_t>(m.target));
  if (!st.ok()) return invalid_argument(st.error().message());
  return Writer(kKernelOpRequestFixedSize + m.symbol.size() + m.field.size() + m.tag.size())
      .u64(m.request_id)
      .u8(static_cast<uint8_t>(m.op))
      .u8(static_cast<uint8_t>(m.target))
      .u8(m.width)
      .u8(0)
      .u32(m.cpu)
      .u32(m.pid)
      .u64(m.address)
      .u64(m.value)
      .u16(static_cast<uint16_t>(m.symbol.size()))
      .u16(static_cast<uint16_t>(m.field.size()))
      .u32(static_cast<uint32_t>(m.tag.size()))
      .bytes(m.symbol)
      .bytes(m.field)
      .bytes(m.tag)
      .take();
}

Result<KernelOpRequest> decode_kernel_op_request(ByteSpan p) {
  const char* msg = "KERNEL_OP_REQUEST";
  KTSTR_TRY(expect_at_least(msg, p, kKernelOpRequestFixedSize));
  Reader r(p);
  KernelOpRequest m;
  m.request_id = r.u64();
  uint8_t op = r.u8();
  uint8_t target = r.u8();
  m.width = r.u8();
  uint8_t pad = r.u8();
  m.cpu = r.u32();
  m.pid = r.u32();
  m.address = r.u64();
  m.value = r.u64();
  uint16_t symbol_len = r.u16();
  uint16_t field_len = r.u16();
  uint32_t tag_len = r.u32();
  if (pad != 0) return bad(msg, "pad byte is " + std::to_string(pad) + ", must be 0");
  // 64-bit sum: no overflow, and it must account for every byte.
  uint64_t want = uint64_t{symbol_len} + field_len + tag_len;
  if (want != r.remaining())
    return bad(msg, "symbol_len + field_len + tag_len = " + std::to_string(want) + " but " +
                        std::to_string(r.remaining()) + " bytes follow");
  m.symbol = std::string(r.text(symbol_len));
  m.field = std::string(r.text(field_len));
  m.tag = std::string(r.text(tag_len));
  if (!r.ok()) return bad(msg, "truncated");  // unreachable given the check above
  m.op = static_cast<KernelOp>(op);
  m.target = static_cast<KernelTarget>(target);
  KTSTR_TRY(check_kernel_op(m, op, target));
  return m;
}

Bytes encode(const KernelOpReply& m) {
  return Writer(kKernelOpReplyFixedSize + m.reason.size())
      .u64(m.request_id)
      .u32(m.status)
      .u32(static_cast<uint32_t>(m.reason.size()))
      .u64(m.value)
      .bytes(m.reason)
      .take();
}

Result<KernelOpReply> decode_kernel_op_reply(ByteSpan p) {
  KTSTR_TRY(expect_at_least("KERNEL_OP_REPLY", p, kKernelOpReplyFixedSize));
  Reader r(p);
  KernelOpReply m;
  m.request_id = r.u64();
  m.status = r.u32();
  uint32_t reason_len = r.u32();
  m.value = r.u64();
  if (reason_len != r.remaining())
    return bad("KERNEL_OP_REPLY", "reason_len " + std::to_string(reason_len) + " but " +
                                      std::to_string(r.remaining()) + " bytes follow");
  m.reason = std::string(r.rest());
  return m;
}

}  // namespace ktstr::wire
