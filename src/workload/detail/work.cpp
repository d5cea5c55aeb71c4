#include "workload/detail/work.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ktstr::workload::detail {

Status init_group_shared(GroupShared* g) {
  new (g) GroupShared();
  pthread_mutexattr_t attr;
  if (int e = pthread_mutexattr_init(&attr); e != 0) {
    errno = e;
    return io_error("pthread_mutexattr_init");
  }
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  // Robust: a contender killed while holding the lock does not wedge the rest.
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  int e = pthread_mutex_init(&g->mutex, &attr);
  pthread_mutexattr_destroy(&attr);
  if (e != 0) {
    errno = e;
    return io_error("pthread_mutex_init (process-shared, robust)");
  }
  return {};
}

Result<std::span<uint8_t>> alloc_buffer(WorkerEnv& env, size_t bytes, bool touch) {
  KTSTR_ASSIGN(Mapping m, Mapping::anonymous(bytes),
               "allocating a " + std::to_string(bytes / 1024) + " KiB work buffer");
  if (touch) std::memset(m.data(), 0x5a, m.size());
  std::span<uint8_t> out(m.data(), m.size());
  env.buffers.push_back(std::move(m));
  return out;
}

uint64_t cache_pass(uint8_t* buf, size_t size, size_t stride) {
  uint64_t sum = 0;
  for (size_t off = 0; off < size; off += stride) {
    sum += buf[off];
    buf[off] = static_cast<uint8_t>(buf[off] + 1);
  }
  return sum;
}

Status io_once(WorkerEnv& env, const uint8_t* data) {
  size_t done = 0;
  const size_t n = env.spec.io_bytes;
  while (done < n) {
    ssize_t w = ::pwrite(env.io_fd, data + done, n - done, static_cast<off_t>(done));
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error("io-sync write");
    }
    done += static_cast<size_t>(w);
  }
  while (::fsync(env.io_fd) != 0) {
    if (errno != EINTR) return io_error("io-sync fsync");
  }
  return {};
}

Status run_work(WorkerEnv& env) {
  switch (env.spec.type) {
    case WorkType::kCpuSpin:
      return run_cpu_spin(env);
    case WorkType::kYieldHeavy:
      return run_yield_heavy(env);
    case WorkType::kMixed:
      return run_mixed(env);
    case WorkType::kIoSync:
      return run_io_sync(env);
    case WorkType::kBursty:
      return run_bursty(env);
    case WorkType::kPipeIo:
      return run_pipe_pair(env, false);
    case WorkType::kFutexPingPong:
      return run_futex_ping_pong(env);
    case WorkType::kCachePressure:
      return run_cache(env, false);
    case WorkType::kCacheYield:
      return run_cache(env, true);
    case WorkType::kCachePipe:
      return run_pipe_pair(env, true);
    case WorkType::kFutexFanOut:
      return run_fan_out(env, false);
    case WorkType::kFanOutCompute:
      return run_fan_out(env, true);
    case WorkType::kSequence:
      return run_sequence(env);
    case WorkType::kForkExit:
      return run_fork_exit(env);
    case WorkType::kNiceSweep:
      return run_nice_sweep(env);
    case WorkType::kAffinityChurn:
      return run_affinity_churn(env);
    case WorkType::kPolicyChurn:
      return run_policy_churn(env);
    case WorkType::kPageFaultChurn:
      return run_page_fault_churn(env);
    case WorkType::kMutexContention:
      return run_mutex_contention(env);
  }
  return invalid_argument("unknown work type");
}

}  // namespace ktstr::workload::detail
