// FreezeCoordinator: the one place that stops the VM. It captures
// snapshots (QMP stop -> read guest memory -> QMP cont), serves the guest's
// SNAPSHOT_REQUEST (CAPTURE / WATCH) and KERNEL_OP_REQUEST queues from
// wire::Sinks, answers every request through send_to_guest, arms write
// watchpoints through QEMU's gdbstub and captures on their hits, and fires
// periodic captures. Everything that freezes is serialised by one mutex.
//
// Stop/cont rules (measured on QEMU 7.2, see gdb_watch.h):
//   - every freeze is QMP stop + query-status ("paused", or "debug" when a
//     watchpoint stopped the VM: stop is then a no-op) and ends with QMP
//     cont ALWAYS, also when reading failed; a failed cont is recorded in
//     the snapshot's errors.
//   - a watch hit leaves the VM in run state "debug"; the coordinator
//     captures and resumes it with QMP cont (gdb `c` is equivalent; QMP is
//     used so every freeze ends the same way). A hit is captured only while
//     the VM is still in "debug": if another freeze resumed it meanwhile,
//     the hit is counted as missed rather than captured late.
//   - gdb commands are only sent while the VM is stopped: the gdbstub is
//     attached inside a freeze (attaching stops a running VM on its own).
//   - the gdbstub reports every QMP stop as a "T02" stop reply; the serve
//     loop reads and ignores those.
//
// Requests (each answered exactly once through send_to_guest):
//   CAPTURE tag    -> capture(tag or "request#<id>", kRequest, globals);
//                     status 1 + reason when it could not be taken.
//   WATCH symbol   -> refused with a reason when the symbol is unknown
//                     ("unknown kernel symbol 'x'"), not in the kernel half,
//                     not 8-byte aligned ("misaligned watch: ..."), when
//                     max_watches are armed or there is no gdbstub; else
//                     attaches gdb (once) and arms an 8-byte write
//                     watchpoint, then replies ok ("already armed" for a
//                     repeat). Hits are captured as "watch:<symbol>#N"
//                     (N = 0, 1, ...); the watch is disarmed after
//                     watch_max_hits captures or watch_max_stops hits.
//                     Armed watches need the serve loop running: a hit keeps
//                     the VM stopped until it is handled.
//   KERNEL_OP      -> reads unfrozen, writes inside a freeze
//                     (execute_kernel_op does all validation).
//
// Threading: capture(), snapshots(), stats() from any thread; serve_once()
// from one thread at a time (the start()ed thread, or a test).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "freeze/bpf_maps.h"
#include "freeze/gdb_watch.h"
#include "freeze/periodic.h"
#include "freeze/snapshot.h"
#include "monitor/guest_kernel.h"
#include "monitor/sampler.h"
#include "util/fd.h"
#include "util/result.h"
#include "vm/qmp.h"
#include "wire/messages.h"
#include "wire/protocol.h"
#include "wire/sinks.h"

namespace ktstr::freeze {

struct FreezeOptions {
  size_t max_snapshots = 64;  // further captures are refused (counted)
  // Captures per watchpoint before it is disarmed.
  uint32_t watch_max_hits = 16;
  // Hits per watchpoint (captured or not) before it is disarmed: every hit
  // stops the VM, so a hot variable must not slow the guest down forever.
  uint32_t watch_max_stops = 1000;
  // A hit sooner than this after the watch's previous capture only resumes.
  std::chrono::milliseconds watch_min_interval{200};
  // At most this many armed watchpoints (x86 has 4 debug registers).
  size_t max_watches = 4;
  // Deadline for each QMP / gdb command of a freeze.
  std::chrono::milliseconds freeze_timeout{10000};
  // QEMU's gdbstub (vm::Machine::gdb_socket()); empty: WATCH is refused.
  std::filesystem::path gdb_socket;
  // Refuse watches on symbols outside the kernel half (per-CPU variables
  // are offsets there). Off only for firmware-only test VMs.
  bool require_kernel_address = true;
  // Kernel globals (8-byte values) read into every capture the coordinator
  // triggers itself (requests, watch hits, periodic).
  std::vector<std::string> globals;
  bool dump_maps = true;
  DumpLimits map_limits;
  // Origin of Snapshot::t_ms; default: construction time (sinks' clock).
  std::optional<wire::ScenarioTiming::TimePoint> t0;
};

struct FreezeStats {
  uint64_t count = 0;          // snapshots stored
  uint64_t freezes = 0;        // VM stops (captures, kernel writes, watch arming)
  uint64_t freeze_us_median = 0, freeze_us_p99 = 0, freeze_us_max = 0;
  uint64_t watch_hits = 0;     // watch stop replies seen
  uint64_t watch_captures = 0;
  uint64_t watch_rate_limited = 0;  // hits resumed without a capture
  uint64_t watch_missed = 0;   // hits the VM was already resumed from
  uint64_t refused_ops = 0;    // KERNEL_OP replies with status != 0
  uint64_t refused_requests = 0;   // SNAPSHOT_REPLY with status != 0
  uint64_t dropped_snapshots = 0;  // captures refused by max_snapshots
  uint64_t send_failures = 0;      // replies send_to_guest could not deliver
  nlohmann::json to_json() const;
};

// Status values of SNAPSHOT_REPLY.
inline constexpr uint32_t kSnapshotOk = 0;
inline constexpr uint32_t kSnapshotFailed = 1;

class FreezeCoordinator {
 public:
  using SendFn = std::function<Status(wire::MsgType, std::span<const uint8_t>)>;

  // `kernel`'s memory must be mapped read-write for KERNEL_OP writes.
  // Every reference must outlive the coordinator.
  FreezeCoordinator(vm::Qmp& qmp, monitor::GuestKernel& kernel, monitor::Sampler* sampler,
                    wire::Sinks& sinks, SendFn send_to_guest, FreezeOptions options = {});
  ~FreezeCoordinator();  // stop(), then detaches gdb (QEMU resumes the VM)
  FreezeCoordinator(const FreezeCoordinator&) = delete;
  FreezeCoordinator& operator=(const FreezeCoordinator&) = delete;

  // Freezes, reads, thaws, stores. Fails (nothing stored) only when the VM
  // could not be stopped or the snapshot limit is reached; unreadable parts
  // go to Snapshot::errors.
  Result<Snapshot> capture(std::string name, Trigger trigger,
                           const std::vector<std::string>& globals);

  // Waits up to `timeout` for a request, a gdb stop reply or a periodic
  // point, and handles everything that is ready.
  void serve_once(std::chrono::milliseconds timeout);
  // A thread calling serve_once() until stop().
  Status start();
  void stop();

  // Periodic captures: n points over a workload of `workload_ms` (see
  // periodic.h), fired by the serve loop. Replaces a previous schedule.
  void set_periodic(uint32_t n, uint64_t workload_ms);

  std::vector<Snapshot> snapshots() const;
  FreezeStats stats() const;
  bool gdb_attached() const;

 private:
  struct Watch {
    std::string symbol;
    uint64_t addr = 0;
    uint32_t captures = 0, stops = 0;
    std::optional<wire::ScenarioTiming::TimePoint> last_capture;
  };
  class Freeze;

  void handle_snapshot_request(const wire::SnapshotRequest& req);
  void handle_kernel_op(const wire::KernelOpRequest& req);
  void handle_gdb_stops();
  void handle_watch_hit(const StopEvent& ev);
  // Replies through send_to_guest, counting failures.
  void reply(const wire::SnapshotReply& r);
  void reply(const wire::KernelOpReply& r);
  Status arm_watch(const std::string& symbol, uint64_t addr);
  Result<Snapshot> capture_locked(std::string name, Trigger trigger,
                                  const std::vector<std::string>& globals);
  void read_state(Snapshot& snap, const std::vector<std::string>& globals);
  void record_freeze(uint64_t us);

  vm::Qmp& qmp_;
  monitor::GuestKernel& kernel_;
  monitor::Sampler* sampler_;
  wire::Sinks& sinks_;
  SendFn send_;
  FreezeOptions opt_;
  wire::ScenarioTiming::TimePoint t0_;

  mutable std::mutex mu_;  // freezes, gdb_, watches_, snapshots_, stats
  std::vector<Snapshot> snapshots_;
  FreezeStats stats_;
  std::vector<uint64_t> freeze_us_;  // bounded window for median / p99
  GdbClient gdb_;
  std::vector<Watch> watches_;
  std::optional<Result<BpfLayout>> bpf_layout_;
  std::unique_ptr<PeriodicCapture> periodic_;

  UniqueFd wake_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace ktstr::freeze
