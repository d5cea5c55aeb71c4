// The work loops: one function per work type, run in the worker after
// release until a stop is requested. Grouped types meet their partners
// through a GroupShared page (MAP_SHARED, created by the parent before fork)
// or a pair of pipes.
#pragma once

#include <pthread.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"
#include "workload/detail/meter.h"
#include "workload/detail/sys.h"
#include "workload/plan.h"
#include "workload/work_spec.h"

namespace ktstr::workload::detail {

// One per group, in MAP_SHARED memory. Futex words are plain uint32_t used
// through std::atomic_ref; each hot field sits on its own cache line.
struct GroupShared {
  // futex-ping-pong: whose turn it is (0 = ping, 1 = pong) and when the
  // other side handed it over.
  alignas(64) uint32_t turn = 0;
  alignas(64) uint64_t handoff_ns[2] = {};
  // fan-out types: round number (futex word), when each round was posted,
  // and how many members finished the current round (futex word).
  alignas(64) uint32_t round = 0;
  alignas(64) uint64_t round_posted_ns = 0;
  alignas(64) uint32_t acks = 0;
  // mutex-contention: robust, process-shared.
  alignas(64) pthread_mutex_t mutex;
  uint64_t counter = 0;
};

// Initializes a GroupShared in fresh shared memory (parent, before fork).
Status init_group_shared(GroupShared* g);

struct WorkerEnv {
  const WorkSpec& spec;
  WorkerSlot slot;
  uint32_t group_members = 1;
  GroupShared* shared = nullptr;    // grouped futex/mutex types
  int pipe_in = -1, pipe_out = -1;  // pipe-io, cache-pipe (non-blocking)
  int io_fd = -1;                   // io-sync, sequence with io phases
  Meter& meter;
  Rng rng;
  std::vector<std::string>& notes;
  // Every work buffer, kept alive past the loop for the NUMA page sample.
  std::vector<Mapping>& buffers;
};

// A fresh buffer owned by env.buffers (touched: every byte written once).
Result<std::span<uint8_t>> alloc_buffer(WorkerEnv& env, size_t bytes, bool touch);

// Runs the loop for env.spec.type until stop_requested(); an error ends the
// loop early and becomes the report's `error`.
Status run_work(WorkerEnv& env);

// Per-type loops (work_solo.cpp, work_group.cpp).
Status run_cpu_spin(WorkerEnv& env);
Status run_yield_heavy(WorkerEnv& env);
Status run_mixed(WorkerEnv& env);
Status run_io_sync(WorkerEnv& env);
Status run_bursty(WorkerEnv& env);
Status run_cache(WorkerEnv& env, bool yield);  // cache-pressure, cache-yield
Status run_sequence(WorkerEnv& env);
Status run_fork_exit(WorkerEnv& env);
Status run_nice_sweep(WorkerEnv& env);
Status run_affinity_churn(WorkerEnv& env);
Status run_policy_churn(WorkerEnv& env);
Status run_page_fault_churn(WorkerEnv& env);
Status run_pipe_pair(WorkerEnv& env, bool cache);  // pipe-io, cache-pipe
Status run_futex_ping_pong(WorkerEnv& env);
Status run_fan_out(WorkerEnv& env, bool compute);  // futex-fan-out, fan-out-compute
Status run_mutex_contention(WorkerEnv& env);

// Shared by loops: one pass of strided read-modify-write over `buf`.
uint64_t cache_pass(uint8_t* buf, size_t size, size_t stride);
// Writes spec.io_bytes at offset 0 of env.io_fd and fsyncs it.
Status io_once(WorkerEnv& env, const uint8_t* data);

}  // namespace ktstr::workload::detail
