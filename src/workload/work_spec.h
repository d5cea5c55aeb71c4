// WorkSpec: what one worker does — a work type and its parameters. This is
// the contract between the scenario model (which reads it from TOML), the
// worker processes (which execute it) and the checks (which judge it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::workload {

enum class WorkType {
  kCpuSpin,          // spin on arithmetic
  kYieldHeavy,       // sched_yield() in a loop
  kMixed,            // spin `spin_iters` then yield
  kIoSync,           // write `io_bytes` to tmpfs, fsync, sleep `sleep_us`
  kBursty,           // spin `burst_ms`, sleep `sleep_ms`
  kPipeIo,           // pairs ping-pong `iters` bytes over pipes
  kFutexPingPong,    // pairs wake each other through a futex
  kCachePressure,    // stride `stride` over a `buffer_kib` buffer
  kCacheYield,       // cache-pressure then yield
  kCachePipe,        // cache-pressure then a pipe round trip with a partner
  kFutexFanOut,      // one waker, `fan_out` waiters on a futex
  kFanOutCompute,    // one producer, `fan_out` consumers computing over `buffer_kib`
  kSequence,         // `phases` in order, repeated
  kForkExit,         // fork a child that exits at once, wait for it
  kNiceSweep,        // walk nice from -20 to 19 while spinning
  kAffinityChurn,    // re-pin itself to a random allowed CPU every iteration
  kPolicyChurn,      // cycle SCHED_OTHER/BATCH/IDLE while spinning
  kPageFaultChurn,   // touch then MADV_DONTNEED a `region_kib` region
  kMutexContention,  // `contenders` workers fight over one shared mutex
};

// Canonical names as used in scenario files: "cpu-spin", "futex-ping-pong", ...
std::string_view to_string(WorkType t);
Result<WorkType> parse_work_type(std::string_view name);
std::vector<WorkType> all_work_types();

// One phase of a `sequence` worker.
struct Phase {
  enum class Kind { kSpin, kSleep, kYield, kIo } kind = Kind::kSpin;
  uint32_t duration_ms = 10;
};

struct WorkSpec {
  WorkType type = WorkType::kCpuSpin;
  // Parameters; each work type reads the ones it needs. Defaults per the
  // issue: mixed spin 1024; io-sync 64 KiB + 100 us; bursty 50/100 ms;
  // pipe-io / futex-ping-pong 1024 iterations per exchange; cache-pressure
  // 32 KiB stride 64; futex-fan-out 4; fan-out-compute 4 x 256 KiB, 5 ops,
  // 100 us sleep; page-fault-churn 4096 KiB; mutex-contention 4 contenders.
  uint32_t spin_iters = 1024;
  uint32_t io_bytes = 64 * 1024;
  uint32_t sleep_us = 100;
  uint32_t burst_ms = 50;
  uint32_t sleep_ms = 100;
  uint32_t iters = 1024;
  uint32_t buffer_kib = 32;
  uint32_t stride = 64;
  uint32_t fan_out = 4;
  uint32_t ops = 5;
  uint32_t region_kib = 4096;
  uint32_t contenders = 4;
  std::vector<Phase> phases;  // sequence only

  // Workers that run as a group (pairs, fan-out, contenders) need this many
  // processes per group; 1 for solo types.
  uint32_t group_size() const;
  // Whether wake-latency samples are meaningful (blocking types).
  bool records_wake_latency() const;
};

// Defaults for a work type (the bracketed values).
WorkSpec default_spec(WorkType t);

// Checks the parameters `spec.type` reads (non-zero sizes, bounds, sequence
// phases). One-line messages naming the field: "stride: must be 1..1048576".
Status validate(const WorkSpec& spec);

// Phase kind names as used in scenario files: "spin", "sleep", "yield", "io".
std::string_view to_string(Phase::Kind k);
Result<Phase::Kind> parse_phase_kind(std::string_view name);

}  // namespace ktstr::workload
