// SchedulerSupervisor: runs the sched_ext scheduler under test inside the VM
// and watches it while the scenario engine runs in the same process.
//
//   start()  spawns the binary (stdout+stderr into one pipe), waits until
//            /sys/kernel/sched_ext/state reads "enabled" and root/ops names
//            it. A reader thread only buffers the output; SCHED_LOG frames
//            are sent from the caller's thread (start, check, stop,
//            flush_log), so frames never interleave on the port.
//   check()  cheap, for the engine's should_stop hook (~every 20 ms): notices
//            the process exiting or the state leaving "enabled", reads the
//            kernel's reason from /dev/kmsg, sends SCHED_EXIT once. The call
//            that sees the death waits up to `settle` (1 s) for the kernel's
//            reason and the process's last words (~100-300 ms under TCG).
//   stop()   SIGTERM (to its process group), SIGKILL after half the timeout;
//            waits for state "disabled".
//
// Kernel facts (7.2): the watchdog timeout is ops.timeout_ms, set by the
// scheduler when it loads (0 = 30 s); there is no global knob, so the host
// passes it in the scheduler's arguments when it takes one. The kernel logs
//   sched_ext: BPF scheduler "NAME" enabled[ (partial)]
//   sched_ext: BPF scheduler "NAME" disabled (REASON)
//   sched_ext: NAME: MESSAGE            (errors only, then a stack trace)
// and sysrq-D writes its state dump only to the sched_ext:sched_ext_dump
// tracepoint (debug_dump() reads it through tracefs). On an error exit the
// kernel hands the same dump to the scheduler, which prints it (UEI_REPORT:
// "DEBUG DUMP ... EXIT: <reason> (<msg>) on CPU <n>"), so it is in SCHED_LOG.
// There is no /sys/kernel/debug/sched/ext in 7.2.
//
// Forking while the reader thread runs is fine: the engine's workers never
// touch the supervisor. The scheduler's pid must not be reaped by anyone
// else (reap_children_except(pid())); if it is, its exit status is unknown.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "guest/sink.h"
#include "util/result.h"
#include "util/subprocess.h"

namespace ktstr::guest {

struct SchedulerSpec {
  std::string binary;  // path inside the guest (or a name on $PATH)
  std::vector<std::string> args;
  std::string ops_name;  // root/ops must read this once attached; empty = any
  uint32_t attach_timeout_ms = 20000;
  // What the host asked for; it is already in `args` when the scheduler
  // takes a timeout option. Only reported (AttachInfo::watchdog).
  uint32_t watchdog_timeout_ms = 0;
};

// Where the supervisor looks and how often; tests point these at fake files.
struct SupervisorOptions {
  std::filesystem::path sched_ext = "/sys/kernel/sched_ext";
  std::filesystem::path kmsg = "/dev/kmsg";
  std::filesystem::path sysrq_trigger = "/proc/sysrq-trigger";
  std::filesystem::path tracing = "/sys/kernel/tracing";
  bool mount_tracefs = true;  // debug_dump() mounts tracefs at `tracing` if missing
  std::chrono::milliseconds poll_interval{20};
  // After a death is seen: how long to wait for the kernel's reason.
  std::chrono::milliseconds settle{1000};
};

struct AttachInfo {
  pid_t pid = -1;
  uint32_t attach_ms = 0;  // spawn -> attached
  std::string ops;         // root/ops as read
  bool switch_all = true;  // false: only SCHED_EXT-policy tasks are on it
  std::string watchdog;    // where the watchdog timeout comes from, one line
};

enum class DeathKind {
  kProcessExited,    // the process ended (or closed its link) first
  kEjectedByKernel,  // runtime error, stall, sysrq, or state lost
  kSchedulerExited,  // the BPF side asked to exit (scx_bpf_exit)
};
std::string_view to_string(DeathKind kind);  // "process exited", ...

struct DeathInfo {
  DeathKind kind = DeathKind::kProcessExited;
  int32_t exit_kind = 0;  // SCHED_EXIT's exit_kind (scheduler/exit_kind.h)
  std::string reason;     // one line: "runnable task stall (kworker/0:1[12] failed ...)"
  std::optional<ExitStatus> process;  // how the process ended, if it has
  std::string state;                  // sched_ext state when judged
  std::string dmesg_excerpt;          // sched_ext kernel lines, "[  5.1] text\n"
  std::vector<std::string> log_tail;  // its last output lines when judged
  uint32_t after_attach_ms = 0;
  // Multi-line text for failure reports: kind, reason, excerpt, log tail.
  std::string to_text() const;
};

struct StopInfo {
  bool was_running = false;           // the process was alive when stop() came
  bool killed = false;                // SIGTERM was not enough
  std::optional<ExitStatus> process;  // nullopt: never started or status unknown
  bool disabled = false;              // state read "disabled" before the deadline
  std::string state;                  // the last state read
  uint32_t stop_ms = 0;
};

class SchedulerSupervisor {
 public:
  static constexpr size_t kTailLines = 50;

  explicit SchedulerSupervisor(SupervisorOptions opts = {});
  ~SchedulerSupervisor();  // stop()s a scheduler still running
  SchedulerSupervisor(const SchedulerSupervisor&) = delete;
  SchedulerSupervisor& operator=(const SchedulerSupervisor&) = delete;

  // Once per supervisor. `sink` must outlive it. On error the process is
  // gone again, log_tail() holds its output, and no SCHED_EXIT was sent
  // (the error is the caller's to report):
  //   "scheduler did not attach: process exited with exit code 1; last output: ..."
  Result<AttachInfo> start(const SchedulerSpec& spec, FrameSink& sink);
  // nullopt while the scheduler is healthy (and before start, after stop);
  // the same DeathInfo on every call once it died. SCHED_EXIT goes out once.
  std::optional<DeathInfo> check();
  // Idempotent; never fails (what happened is in StopInfo).
  StopInfo stop(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // For failure reports, best effort: sysfs state, root/ops, root/events and,
  // while a scheduler is loaded, the sysrq-D dump via tracefs.
  std::string debug_dump();

  // Sends buffered output as SCHED_LOG now (check and stop do this too).
  Status flush_log();
  std::vector<std::string> log_tail() const;
  pid_t pid() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Pieces exposed for unit tests.
namespace sched_detail {

// 'sched_ext: BPF scheduler "simple" disabled (runnable task stall)'.
struct DisabledLine {
  std::string ops;
  std::string reason;
};
std::optional<DisabledLine> parse_disabled_line(std::string_view text);
// 'sched_ext: BPF scheduler "simple" enabled' -> "simple".
std::optional<std::string> parse_enabled_line(std::string_view text);

// Follows kernel log text lines (one record's text each) and keeps what
// matters about sched_ext: the first exit after start and an excerpt.
class KernelLogScanner {
 public:
  // `text`: the record text; `formatted`: the line as shown in the excerpt.
  void feed(std::string_view text, std::string_view formatted);
  bool exited() const { return exit_.has_value(); }
  const std::optional<DisabledLine>& exit() const { return exit_; }
  const std::string& message() const { return message_; }  // "sched_ext: NAME: <this>"
  const std::string& excerpt() const { return excerpt_; }
  const std::string& enabled_ops() const { return enabled_ops_; }

 private:
  std::optional<DisabledLine> exit_;
  std::string message_;
  std::string excerpt_;
  size_t excerpt_lines_ = 0;
  std::string enabled_ops_;
  int trace_lines_left_ = 0;  // stack trace lines still to keep after an error
  bool want_message_ = false;
};

// The last `max_lines` lines of a byte stream (long lines cut).
class LineTail {
 public:
  explicit LineTail(size_t max_lines) : max_(max_lines) {}
  void feed(std::string_view bytes);
  std::vector<std::string> lines() const;  // includes an unterminated last line

 private:
  size_t max_;
  std::deque<std::string> lines_;
  std::string partial_;
};

// The text of sched_ext_dump events in a tracefs `trace` file.
std::string dump_from_trace(std::string_view trace);

// MSG from the scheduler's own last words, as every tools/sched_ext
// scheduler prints them (UEI_REPORT): "EXIT: <reason> (<MSG>) on CPU <n>";
// "" when absent. The kernel logs MSG only for errors.
std::string exit_message_from_output(const std::vector<std::string>& tail,
                                     std::string_view reason);

}  // namespace sched_detail

}  // namespace ktstr::guest
