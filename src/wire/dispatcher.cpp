#include "wire/dispatcher.h"

#include <cstdio>
#include <string>

#include "wire/utf8.h"

namespace ktstr::wire {
namespace {

// What to do with the frame once its side effects are applied.
enum class Keep { kVerdict, kDrop };

std::string describe(const Frame& f) {
  return std::string(type_name(f.msg_type)) + " (" + std::to_string(f.payload.size()) + " bytes)";
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Counts and logs a frame that was dropped because it did not decode.
void malformed(Sinks& s, const Frame& f, const Error& e) {
  ++s.dropped.malformed;
  s.warn("dropped " + describe(f) + ": " + e.message());
}

bool crc_valid_or_drop(Sinks& s, const Frame& f) {
  if (f.crc_ok) return true;
  ++s.dropped.bad_crc;
  return false;
}

void on_sys_rdy(Sinks& s, const Frame& f) {
  if (!crc_valid_or_drop(s, f)) return;
  if (!f.payload.empty()) {
    ++s.dropped.malformed;
    return;
  }
  if (!s.boot_complete.fire()) ++s.dropped.duplicate;
}

void publish(Sinks& s, PublishOnce& cell, const char* what, uint64_t v) {
  if (cell.publish(v) != PublishOnce::Outcome::kDiverged) return;
  ++s.kaslr.divergence_errors;
  s.warn(std::string("KERN_ADDRS divergence: ") + what + " was " + hex(cell.get().value_or(0)) +
         ", guest now says " + hex(v) + "; keeping the first value");
}

void on_kern_addrs(Sinks& s, const Frame& f) {
  if (!crc_valid_or_drop(s, f)) return;
  auto m = decode_kern_addrs(f.payload);
  if (!m.ok()) return malformed(s, f, m.error());
  if (m->phys_base) publish(s, s.kaslr.phys_base, "phys_base", *m->phys_base);
  if (m->page_offset_base != 0) {
    if (m->page_offset_base >= kKernelHalfStartLa57) {
      publish(s, s.kaslr.page_offset_base, "page_offset_base", m->page_offset_base);
    } else {
      ++s.kaslr.rejected;
      s.warn("KERN_ADDRS: page_offset_base " + hex(m->page_offset_base) +
             " is below the kernel half (even with 5-level paging); ignored");
    }
  }
  if (m->kernel_text && s.kaslr.link_text != 0) {
    auto offset = derive_kaslr_offset(s.kaslr.link_text, *m->kernel_text);
    if (offset.ok()) {
      publish(s, s.kaslr.kaslr_offset, "kaslr_offset", *offset);
    } else {
      ++s.kaslr.rejected;
      s.warn("KERN_ADDRS: " + offset.error().message() + "; KASLR offset not set");
    }
  }
}

void on_snapshot_request(Sinks& s, const Frame& f) {
  if (!crc_valid_or_drop(s, f)) return;
  auto m = decode_snapshot_request(f.payload);
  if (!m.ok()) return malformed(s, f, m.error());
  if (!s.snapshot_requests.push(std::move(*m))) ++s.dropped.queue_full;
}

void on_kernel_op_request(Sinks& s, const Frame& f) {
  if (!crc_valid_or_drop(s, f)) return;
  auto m = decode_kernel_op_request(f.payload);
  if (!m.ok()) return malformed(s, f, m.error());
  m->tag = sanitize_utf8(m->tag, kKernelOpTagMax);
  if (!s.kernel_op_requests.push(std::move(*m))) ++s.dropped.queue_full;
}

void on_kallsyms(Sinks& s, const Frame& f) {
  if (!crc_valid_or_drop(s, f)) return;
  if (!s.kallsyms.push(f.payload)) ++s.dropped.queue_full;
}

void on_scenario_start(Sinks& s, const Frame& f) {
  if (!f.crc_ok) return;
  auto m = decode_scenario_start(f.payload);
  if (!m.ok()) return s.warn("ignoring " + describe(f) + ": " + m.error().message());
  s.timing.on_start(s.now(), m->workload_duration_ms);
}

// PAUSE / RESUME / END: CRC-valid and empty, else no timing effect.
bool timing_frame_valid(Sinks& s, const Frame& f) {
  if (!f.crc_ok) return false;
  if (!f.payload.empty()) {
    s.warn("ignoring " + describe(f) + ": payload must be empty");
    return false;
  }
  return true;
}

Keep apply(const Frame& f, Sinks& s) {
  if (!is_known(f.msg_type)) {
    ++s.dropped.unknown_type;
    if (s.unknown_types.first(f.msg_type))
      s.warn("dropping unknown message type " + std::string(type_name(f.msg_type)) +
             " (warned once per type)");
    return Keep::kDrop;
  }
  switch (static_cast<MsgType>(f.msg_type)) {
    case MsgType::kSysRdy:
      on_sys_rdy(s, f);
      return Keep::kDrop;
    case MsgType::kKernAddrs:
      on_kern_addrs(s, f);
      return Keep::kVerdict;
    case MsgType::kSchedExit:
      // A forged or corrupted exit must not kill the run, nor count as one.
      if (!crc_valid_or_drop(s, f)) return Keep::kDrop;
      if (s.kill.fire()) s.warn("scheduler exited (SCHED_EXIT): stopping the run");
      return Keep::kVerdict;
    case MsgType::kSnapshotRequest:
      on_snapshot_request(s, f);
      return Keep::kDrop;
    case MsgType::kKernelOpRequest:
      on_kernel_op_request(s, f);
      return Keep::kDrop;
    case MsgType::kKallsyms:
      on_kallsyms(s, f);
      return Keep::kDrop;
    case MsgType::kSnapshotReply:
    case MsgType::kKernelOpReply:
      ++s.dropped.wrong_direction;
      if (s.unknown_types.first(f.msg_type))
        s.warn("dropping " + std::string(type_name(f.msg_type)) +
               " from the guest: it is a host-to-guest message (warned once)");
      return Keep::kDrop;
    case MsgType::kScenarioStart:
      on_scenario_start(s, f);
      return Keep::kVerdict;
    case MsgType::kScenarioPause:
      if (timing_frame_valid(s, f)) s.timing.on_pause(s.now());
      return Keep::kVerdict;
    case MsgType::kScenarioResume:
      if (timing_frame_valid(s, f)) s.timing.on_resume(s.now());
      return Keep::kVerdict;
    case MsgType::kScenarioEnd:
      if (timing_frame_valid(s, f)) s.timing.on_end(s.now());
      return Keep::kVerdict;
    case MsgType::kStimulus:
      if (f.crc_ok) {
        auto m = decode_stimulus(f.payload);
        if (m.ok())
          s.step_index.store(m->step_index, std::memory_order_release);
        else
          s.warn("ignoring " + describe(f) + " for the step mirror: " + m.error().message());
      }
      return Keep::kVerdict;
    case MsgType::kTestResult:
    case MsgType::kExit:
    case MsgType::kCrash:
    case MsgType::kPayloadMetrics:
    case MsgType::kStdout:
    case MsgType::kStderr:
    case MsgType::kSchedLog:
    case MsgType::kLifecycle:
    case MsgType::kDmesg:
      return Keep::kVerdict;
  }
  return Keep::kDrop;  // unreachable: is_known() covered every enumerator
}

}  // namespace

std::optional<VerdictEntry> dispatch(const Frame& frame, Sinks& sinks) {
  if (apply(frame, sinks) == Keep::kDrop) return std::nullopt;
  return VerdictEntry{frame.msg_type, frame.payload, frame.crc_ok, sinks.now()};
}

std::optional<VerdictEntry> dispatch(Frame&& frame, Sinks& sinks) {
  if (apply(frame, sinks) == Keep::kDrop) return std::nullopt;
  return VerdictEntry{frame.msg_type, std::move(frame.payload), frame.crc_ok, sinks.now()};
}

}  // namespace ktstr::wire
