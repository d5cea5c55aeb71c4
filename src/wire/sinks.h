// Sinks: everything the host-side dispatcher may touch, all thread-safe so a
// port reader thread can dispatch while the coordinator, watchdog and
// monitor threads wait on or read the same objects.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "util/result.h"
#include "wire/kaslr.h"
#include "wire/latch.h"
#include "wire/messages.h"
#include "wire/request_queue.h"
#include "wire/scenario_timing.h"

namespace ktstr::wire {

// Remembers which unknown message types were already warned about. Bounded:
// after kMaxRemembered distinct types, first() is false for new ones (a
// hostile guest cannot grow the set or flood the log).
class WarnOnce {
 public:
  static constexpr size_t kMaxRemembered = 64;
  // True the first time `key` is seen (and while there is room).
  bool first(uint32_t key);
  size_t size() const;

 private:
  mutable std::mutex mu_;
  std::unordered_set<uint32_t> seen_;
};

// Frames the dispatcher dropped, by reason.
struct DropCounters {
  std::atomic<uint64_t> unknown_type{0};
  std::atomic<uint64_t> bad_crc{0};          // control/internal frames with a bad CRC
  std::atomic<uint64_t> malformed{0};        // wrong size, or the payload did not decode
  std::atomic<uint64_t> duplicate{0};        // SYS_RDY after the first
  std::atomic<uint64_t> wrong_direction{0};  // host -> guest types sent by the guest
  std::atomic<uint64_t> queue_full{0};       // requests beyond the queue capacity
};

struct SinksConfig {
  using ClockFn = std::function<ScenarioTiming::TimePoint()>;
  using LogFn = std::function<void(std::string_view)>;
  uint64_t link_text = 0;       // link-time _text of the kernel; 0 = unknown
  ClockFn now;                  // default: steady_clock::now
  LogFn log;                    // default: one line to stderr
  size_t queue_capacity = 256;  // per request queue
  size_t kallsyms_capacity = 4;
  // warn() lines per run; then one "suppressed" line (a hostile guest must
  // not be able to flood the host log).
  uint64_t max_warnings = 1000;
};

struct Sinks {
  // Opens the eventfds; fails only if the kernel refuses them.
  static Result<std::unique_ptr<Sinks>> create(SinksConfig config = {});

  Latch kill;           // SCHED_EXIT (and host-side aborts): stop the run
  Latch boot_complete;  // first valid SYS_RDY
  KaslrCells kaslr;
  RequestQueue<SnapshotRequest> snapshot_requests;
  RequestQueue<KernelOpRequest> kernel_op_requests;  // tags sanitised, <= 256 bytes
  RequestQueue<Bytes> kallsyms;                      // compressed blobs for the monitor
  ScenarioTiming timing;
  std::atomic<uint32_t> step_index{0};  // last CRC-valid STIMULUS
  WarnOnce unknown_types;
  DropCounters dropped;

  ScenarioTiming::TimePoint now() const { return clock_(); }
  // Logs a line about guest behaviour, up to max_warnings per run.
  void warn(std::string_view line);
  uint64_t warnings() const { return warnings_.load(); }

 private:
  explicit Sinks(SinksConfig config);
  SinksConfig::ClockFn clock_;
  SinksConfig::LogFn log_;
  uint64_t max_warnings_;
  std::atomic<uint64_t> warnings_{0};
};

}  // namespace ktstr::wire
