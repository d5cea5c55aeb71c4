// Work loops of the solo types: each iteration does a bounded amount of its
// kind of work and ends with meter.tick(units).
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/scope_guard.h"
#include "workload/detail/work.h"

namespace ktstr::workload::detail {

namespace {

constexpr uint64_t kMs = 1'000'000;
// Knob-changing types change their knob about this often while spinning.
constexpr uint64_t kChurnPeriodNs = kMs;

// Sleeps without counting the time as a scheduling gap.
void voluntary_sleep(WorkerEnv& env, uint64_t ns) {
  if (ns == 0) return;
  env.meter.pause();
  sleep_ns(ns);
  env.meter.resume();
}

void note_once(WorkerEnv& env, bool& noted, const std::string& text) {
  if (noted) return;
  noted = true;
  env.notes.push_back(text);
}

std::vector<uint32_t> allowed_cpus() {
  constexpr int kMax = 4096;
  cpu_set_t* set = CPU_ALLOC(kMax);
  std::vector<uint32_t> out;
  if (set == nullptr) return out;
  const size_t size = CPU_ALLOC_SIZE(kMax);
  CPU_ZERO_S(size, set);
  if (::sched_getaffinity(0, size, set) == 0)
    for (int c = 0; c < kMax; ++c)
      if (CPU_ISSET_S(c, size, set)) out.push_back(static_cast<uint32_t>(c));
  CPU_FREE(set);
  return out;
}

bool pin_self(const std::vector<uint32_t>& cpus) {
  constexpr int kMax = 4096;
  cpu_set_t* set = CPU_ALLOC(kMax);
  if (set == nullptr) return false;
  const size_t size = CPU_ALLOC_SIZE(kMax);
  CPU_ZERO_S(size, set);
  for (uint32_t c : cpus)
    if (c < kMax) CPU_SET_S(c, size, set);
  bool ok = ::sched_setaffinity(0, size, set) == 0;
  CPU_FREE(set);
  return ok;
}

// The data io_once writes.
Result<std::span<uint8_t>> io_buffer(WorkerEnv& env) {
  KTSTR_ASSIGN(auto buf, alloc_buffer(env, env.spec.io_bytes, false));
  for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<uint8_t>(i * 131 + 7);
  return buf;
}

}  // namespace

Status run_cpu_spin(WorkerEnv& env) {
  uint64_t x = env.rng.next();
  while (!stop_requested()) {
    x = spin(kSpinBlockOps, x);
    env.meter.tick(1);
  }
  return {};
}

Status run_yield_heavy(WorkerEnv& env) {
  while (!stop_requested()) {
    ::sched_yield();
    env.meter.tick(1);
  }
  return {};
}

Status run_mixed(WorkerEnv& env) {
  uint64_t x = env.rng.next();
  while (!stop_requested()) {
    x = spin(env.spec.spin_iters, x);
    ::sched_yield();
    env.meter.tick(1);
  }
  return {};
}

Status run_io_sync(WorkerEnv& env) {
  KTSTR_ASSIGN(auto buf, io_buffer(env));
  while (!stop_requested()) {
    KTSTR_TRY(io_once(env, buf.data()));
    env.meter.tick(1);
    voluntary_sleep(env, uint64_t{env.spec.sleep_us} * 1000);
  }
  return {};
}

Status run_bursty(WorkerEnv& env) {
  uint64_t x = env.rng.next();
  while (!stop_requested()) {
    const uint64_t end = mono_ns() + env.spec.burst_ms * kMs;
    while (!stop_requested() && mono_ns() < end) {
      x = spin(kSpinBlockOps, x);
      env.meter.tick(1);
    }
    voluntary_sleep(env, env.spec.sleep_ms * kMs);
  }
  return {};
}

Status run_cache(WorkerEnv& env, bool yield) {
  KTSTR_ASSIGN(auto buf, alloc_buffer(env, size_t{env.spec.buffer_kib} * 1024, true));
  const size_t stride = env.spec.stride;
  const size_t touches = (buf.size() + stride - 1) / stride;
  // Batch small passes so one iteration is ~16k touches.
  const uint64_t passes = std::max<uint64_t>(1, 16384 / touches);
  uint64_t sink = 0;
  while (!stop_requested()) {
    for (uint64_t p = 0; p < passes; ++p) sink += cache_pass(buf.data(), buf.size(), stride);
    if (yield) ::sched_yield();
    env.meter.tick(passes);
  }
  asm volatile("" : : "r"(sink));
  return {};
}

Status run_sequence(WorkerEnv& env) {
  std::span<uint8_t> io;
  for (const Phase& ph : env.spec.phases)
    if (ph.kind == Phase::Kind::kIo && io.empty()) {
      KTSTR_ASSIGN(io, io_buffer(env));
    }
  uint64_t x = env.rng.next();
  while (!stop_requested()) {
    for (const Phase& ph : env.spec.phases) {
      const uint64_t dur = ph.duration_ms * kMs;
      const uint64_t end = mono_ns() + dur;
      switch (ph.kind) {
        case Phase::Kind::kSleep:
          voluntary_sleep(env, dur);
          break;
        case Phase::Kind::kSpin:
          while (!stop_requested() && mono_ns() < end) {
            x = spin(kSpinBlockOps, x);
            env.meter.tick(1);
          }
          break;
        case Phase::Kind::kYield:
          while (!stop_requested() && mono_ns() < end) {
            ::sched_yield();
            env.meter.tick(1);
          }
          break;
        case Phase::Kind::kIo:
          while (!stop_requested() && mono_ns() < end) {
            KTSTR_TRY(io_once(env, io.data()));
            env.meter.tick(1);
          }
          break;
      }
      if (stop_requested()) break;
    }
  }
  return {};
}

Status run_fork_exit(WorkerEnv& env) {
  bool noted = false;
  while (!stop_requested()) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    if (pid < 0) {
      // e.g. the cgroup's pids.max: not fatal, the scenario may intend it.
      note_once(env, noted, std::string("fork-exit: fork failed: ") + std::strerror(errno));
      voluntary_sleep(env, kMs);
      continue;
    }
    int ws;
    while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    env.meter.tick(1);
  }
  return {};
}

Status run_nice_sweep(WorkerEnv& env) {
  errno = 0;
  const int initial = ::getpriority(PRIO_PROCESS, 0);
  const bool have_initial = !(initial == -1 && errno != 0);
  // Back to the configured nice on the way out: at 19 under load the report
  // could take long to write. Best effort (raising priority may be denied).
  ScopeGuard restore([&] {
    if (have_initial) ::setpriority(PRIO_PROCESS, 0, initial);
  });
  uint64_t x = env.rng.next();
  int next = -20;
  bool capped = false;  // cannot lower nice: sweep up once, then stay
  uint64_t last_change = 0;
  while (!stop_requested()) {
    const uint64_t now = mono_ns();
    if (now - last_change >= kChurnPeriodNs && !(capped && next > 19)) {
      last_change = now;
      if (::setpriority(PRIO_PROCESS, 0, next) != 0 && (errno == EACCES || errno == EPERM)) {
        errno = 0;
        int cur = ::getpriority(PRIO_PROCESS, 0);
        if (!capped)
          env.notes.push_back("nice-sweep: cannot lower nice to " + std::to_string(next) +
                              " without CAP_SYS_NICE; sweeping " + std::to_string(cur) +
                              "..19 once");
        capped = true;
        next = cur;
      }
      next = next >= 19 ? (capped ? 20 : -20) : next + 1;
    }
    x = spin(kSpinBlockOps, x);
    env.meter.tick(1);
  }
  return {};
}

Status run_affinity_churn(WorkerEnv& env) {
  std::vector<uint32_t> allowed = allowed_cpus();
  if (allowed.empty()) return io_error("affinity-churn: sched_getaffinity");
  bool noted = false;
  uint64_t x = env.rng.next();
  while (!stop_requested()) {
    const uint32_t cpu = allowed[env.rng.below(allowed.size())];
    if (!pin_self({cpu})) {
      // The cpuset shrank under us: widen to everything the kernel allows now.
      note_once(env, noted,
                "affinity-churn: CPU " + std::to_string(cpu) +
                    " no longer allowed; re-reading the allowed set");
      std::vector<uint32_t> all(4096);
      for (uint32_t c = 0; c < all.size(); ++c) all[c] = c;
      pin_self(all);
      allowed = allowed_cpus();
      if (allowed.empty()) return io_error("affinity-churn: sched_getaffinity");
    }
    x = spin(kSpinBlockOps, x);
    env.meter.tick(1);
  }
  return {};
}

Status run_policy_churn(WorkerEnv& env) {
  constexpr int kPolicies[] = {SCHED_OTHER, SCHED_BATCH, SCHED_IDLE};
  // Back to the configured policy on the way out (SCHED_IDLE starves under load).
  const int initial = ::sched_getscheduler(0);
  sched_param initial_param{};
  ::sched_getparam(0, &initial_param);
  ScopeGuard restore([&] {
    if (initial >= 0) ::sched_setscheduler(0, initial, &initial_param);
  });
  size_t next = 0;
  bool churning = true;
  uint64_t last_change = 0;
  uint64_t x = env.rng.next();
  while (!stop_requested()) {
    const uint64_t now = mono_ns();
    if (churning && now - last_change >= kChurnPeriodNs) {
      last_change = now;
      sched_param param{};
      if (::sched_setscheduler(0, kPolicies[next], &param) != 0) {
        env.notes.push_back(std::string("policy-churn: sched_setscheduler failed (") +
                            std::strerror(errno) + "); keeping the current policy");
        churning = false;
      }
      next = (next + 1) % std::size(kPolicies);
    }
    x = spin(kSpinBlockOps, x);
    env.meter.tick(1);
  }
  return {};
}

Status run_page_fault_churn(WorkerEnv& env) {
  KTSTR_ASSIGN(auto region, alloc_buffer(env, size_t{env.spec.region_kib} * 1024, false));
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  const size_t pages = region.size() / page;
  while (!stop_requested()) {
    for (size_t i = 0; i < pages; ++i) region.data()[i * page] = static_cast<uint8_t>(i);
    if (::madvise(region.data(), region.size(), MADV_DONTNEED) != 0)
      return io_error("page-fault-churn: madvise(MADV_DONTNEED)");
    env.meter.tick(pages);
  }
  return {};
}

}  // namespace ktstr::workload::detail
