// The exit_kind of a SCHED_EXIT frame: sched_ext's own exit kinds (enum
// scx_exit_kind in kernel/sched/ext/internal.h) and ktstr's negative codes
// for deaths the kernel did not explain. Header-only so the guest agent (which
// encodes it) and the host (which prints it) share one table without the
// agent linking the host-side scheduler library.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ktstr::scheduler {

// ktstr's codes: the kernel's reason was not found.
inline constexpr int32_t kExitProcessDied = -1;  // the scheduler process exited
inline constexpr int32_t kExitStateLost = -2;    // state left "enabled", process alive

// The kernel's kinds: < 1024 are unregistrations, >= 1024 errors.
inline constexpr int32_t kExitUnreg = 64;         // user space closed the link
inline constexpr int32_t kExitUnregBpf = 65;      // the BPF side called scx_bpf_exit()
inline constexpr int32_t kExitUnregKern = 66;     // the kernel unregistered it
inline constexpr int32_t kExitSysrq = 67;         // sysrq-S
inline constexpr int32_t kExitParent = 68;        // parent scheduler exiting
inline constexpr int32_t kExitError = 1024;       // runtime error
inline constexpr int32_t kExitErrorBpf = 1025;    // scx_bpf_error()
inline constexpr int32_t kExitErrorStall = 1026;  // watchdog: runnable task stall

struct ExitKindText {
  int32_t kind;
  std::string_view reason;  // exactly what the kernel prints: "disabled (<reason>)"
};

// scx_exit_reason() of kernel/sched/ext/ext.c (7.2).
inline constexpr ExitKindText kExitKindTexts[] = {
    {kExitUnreg, "unregistered from user space"},
    {kExitUnregBpf, "unregistered from BPF"},
    {kExitUnregKern, "unregistered from the main kernel"},
    {kExitSysrq, "disabled by sysrq-S"},
    {kExitParent, "parent exiting"},
    {kExitError, "runtime error"},
    {kExitErrorBpf, "scx_bpf_error"},
    {kExitErrorStall, "runnable task stall"},
};

// The kind whose kernel reason text is `reason`, or nullopt.
constexpr std::optional<int32_t> exit_kind_from_reason(std::string_view reason) {
  for (const auto& e : kExitKindTexts)
    if (e.reason == reason) return e.kind;
  return std::nullopt;
}

// "runnable task stall", "process died", ... ; "exit kind N" otherwise.
constexpr std::string_view exit_kind_name(int32_t kind) {
  if (kind == kExitProcessDied) return "process died";
  if (kind == kExitStateLost) return "sched_ext state left enabled";
  for (const auto& e : kExitKindTexts)
    if (e.kind == kind) return e.reason;
  return "unknown exit kind";
}

// Errors and kernel-initiated exits: the scheduler was thrown out.
constexpr bool is_ejection(int32_t kind) {
  return kind >= kExitError || kind == kExitUnregKern || kind == kExitSysrq;
}

}  // namespace ktstr::scheduler
