// Work loops of the grouped types. Every blocking wait is sliced into
// kPollSliceNs waits that re-check the stop flag, so a stopped, frozen or
// dead partner never keeps a worker from stopping. Wake latency is sampled
// only when this side really slept and was woken by its partner: the waker
// stores a CLOCK_MONOTONIC stamp before waking (shared page or pipe payload).
#include <poll.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>

#include "workload/detail/work.h"

namespace ktstr::workload::detail {

namespace {

template <typename T>
std::atomic_ref<T> at(T& v) {
  return std::atomic_ref<T>(v);
}

// A partner that exited outside a stop leaves this side idle until the stop.
Status idle_until_stop(WorkerEnv& env, const char* why) {
  if (!stop_requested()) env.notes.push_back(std::string(why) + "; idle until stopped");
  env.meter.pause();
  while (sleep_ns(kPollSliceNs)) {
  }
  return {};
}

enum class Io { kOk, kStop, kGone };

Io send_stamp(int fd) {
  const uint64_t ts = mono_ns();
  while (true) {
    ssize_t n = ::write(fd, &ts, sizeof ts);
    if (n == static_cast<ssize_t>(sizeof ts)) return Io::kOk;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {  // only if the partner stopped reading
      if (!sleep_ns(kPollSliceNs)) return Io::kStop;
      continue;
    }
    return Io::kGone;  // EPIPE: the partner closed its end
  }
}

// Reads one stamp; when it had to wait, samples now - stamp.
Io recv_stamp(WorkerEnv& env, int fd) {
  bool waited = false;
  while (true) {
    uint64_t ts = 0;
    ssize_t n = ::read(fd, &ts, sizeof ts);
    if (n == static_cast<ssize_t>(sizeof ts)) {
      if (waited) {
        const uint64_t now = mono_ns();
        env.meter.resume();
        env.meter.wake_latency(now > ts ? now - ts : 0);
      }
      return Io::kOk;
    }
    if (n >= 0) {  // EOF, or a torn stamp from a dying partner
      if (waited) env.meter.resume();
      return Io::kGone;
    }
    if (errno != EAGAIN && errno != EINTR) {
      if (waited) env.meter.resume();
      return Io::kGone;
    }
    if (stop_requested()) {
      if (waited) env.meter.resume();
      return Io::kStop;
    }
    if (!waited) {
      env.meter.pause();
      waited = true;
    }
    pollfd pfd{fd, POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(kPollSliceNs / 1'000'000));
  }
}

}  // namespace

Status run_pipe_pair(WorkerEnv& env, bool cache) {
  std::span<uint8_t> buf;
  if (cache) {
    KTSTR_ASSIGN(buf, alloc_buffer(env, size_t{env.spec.buffer_kib} * 1024, true));
  }
  uint64_t x = env.rng.next();
  // Work before each hand-over: one buffer pass (cache-pipe) or `iters` spins.
  auto compute = [&] {
    if (cache) {
      x += cache_pass(buf.data(), buf.size(), env.spec.stride);
    } else {
      x = spin(env.spec.iters, x);
    }
  };
  const bool ping = env.slot.role == Role::kPing;
  while (!stop_requested()) {
    Io r = Io::kOk;
    if (ping) {
      compute();
      r = send_stamp(env.pipe_out);
      if (r == Io::kOk) r = recv_stamp(env, env.pipe_in);
    } else {
      r = recv_stamp(env, env.pipe_in);
      if (r == Io::kOk) {
        compute();
        r = send_stamp(env.pipe_out);
      }
    }
    if (r == Io::kStop) break;
    if (r == Io::kGone) return idle_until_stop(env, "pipe partner exited");
    env.meter.tick(1);
  }
  asm volatile("" : : "r"(x));
  return {};
}

Status run_futex_ping_pong(WorkerEnv& env) {
  GroupShared& g = *env.shared;
  const uint32_t me = env.slot.rank == 0 ? 0 : 1;
  const uint32_t other = 1 - me;
  uint64_t x = env.rng.next();
  while (!stop_requested()) {
    bool waited = false, woken = false;
    while (at(g.turn).load(std::memory_order_acquire) != me && !stop_requested()) {
      if (!waited) {
        env.meter.pause();
        waited = true;
      }
      if (futex_wait(&g.turn, other, kPollSliceNs) == 0) woken = true;
    }
    if (waited) {
      const uint64_t now = mono_ns();
      env.meter.resume();
      const uint64_t ts = at(g.handoff_ns[me]).load(std::memory_order_relaxed);
      if (woken && at(g.turn).load(std::memory_order_acquire) == me)
        env.meter.wake_latency(now > ts ? now - ts : 0);
    }
    if (stop_requested()) break;
    x = spin(env.spec.iters, x);
    at(g.handoff_ns[other]).store(mono_ns(), std::memory_order_relaxed);
    at(g.turn).store(other, std::memory_order_release);
    futex_wake(&g.turn, 1);
    env.meter.tick(1);
  }
  asm volatile("" : : "r"(x));
  return {};
}

// Member 0 posts a round (bumps `round`, wakes everyone) and waits until all
// other members acknowledged it; members wait for the round, work, ack.
Status run_fan_out(WorkerEnv& env, bool compute) {
  GroupShared& g = *env.shared;
  const uint32_t followers = env.group_members - 1;
  uint64_t x = env.rng.next();
  if (env.slot.rank == 0) {
    while (!stop_requested()) {
      if (!compute) x = spin(env.spec.spin_iters, x);
      at(g.acks).store(0, std::memory_order_relaxed);
      at(g.round_posted_ns).store(mono_ns(), std::memory_order_relaxed);
      at(g.round).fetch_add(1, std::memory_order_release);
      futex_wake(&g.round, INT_MAX);
      env.meter.pause();
      uint32_t acks;
      while ((acks = at(g.acks).load(std::memory_order_acquire)) < followers && !stop_requested())
        futex_wait(&g.acks, acks, kPollSliceNs);
      env.meter.resume();
      if (stop_requested()) break;
      env.meter.tick(1);
      if (compute && env.spec.sleep_us > 0) {
        env.meter.pause();
        sleep_ns(uint64_t{env.spec.sleep_us} * 1000);
        env.meter.resume();
      }
    }
    return {};
  }

  std::span<uint8_t> buf;
  if (compute) {
    KTSTR_ASSIGN(buf, alloc_buffer(env, size_t{env.spec.buffer_kib} * 1024, true));
  }
  uint32_t seen = 0;  // the parent starts rounds at 0, so round 1 is never missed
  while (!stop_requested()) {
    bool waited = false, woken = false;
    uint32_t r;
    while ((r = at(g.round).load(std::memory_order_acquire)) == seen && !stop_requested()) {
      if (!waited) {
        env.meter.pause();
        waited = true;
      }
      if (futex_wait(&g.round, seen, kPollSliceNs) == 0) woken = true;
    }
    if (waited) {
      const uint64_t now = mono_ns();
      env.meter.resume();
      const uint64_t ts = at(g.round_posted_ns).load(std::memory_order_relaxed);
      if (woken && r != seen) env.meter.wake_latency(now > ts ? now - ts : 0);
    }
    if (stop_requested()) break;
    seen = r;
    uint64_t units = 1;
    if (compute) {
      // One op = one pass multiplying through every word of the buffer.
      auto* words = reinterpret_cast<uint64_t*>(buf.data());
      const size_t n = buf.size() / sizeof(uint64_t);
      for (uint32_t op = 0; op < env.spec.ops; ++op)
        for (size_t i = 0; i < n; ++i) x = (x ^ words[i]) * 0x100000001b3ULL, words[i] = x;
      units = env.spec.ops;
    } else {
      x = spin(env.spec.spin_iters, x);
    }
    if (at(g.acks).fetch_add(1, std::memory_order_acq_rel) + 1 == followers) futex_wake(&g.acks, 1);
    env.meter.tick(units);
  }
  asm volatile("" : : "r"(x));
  return {};
}

Status run_mutex_contention(WorkerEnv& env) {
  GroupShared& g = *env.shared;
  bool noted = false;
  uint64_t x = env.rng.next();
  while (!stop_requested()) {
    int rc = pthread_mutex_trylock(&g.mutex);
    if (rc == EBUSY) {
      env.meter.pause();
      do {
        if (stop_requested()) break;
        timespec abs;
        ::clock_gettime(CLOCK_MONOTONIC, &abs);
        abs.tv_nsec += static_cast<long>(kPollSliceNs);
        if (abs.tv_nsec >= 1'000'000'000L) {
          abs.tv_nsec -= 1'000'000'000L;
          ++abs.tv_sec;
        }
        rc = pthread_mutex_clocklock(&g.mutex, CLOCK_MONOTONIC, &abs);
      } while (rc == ETIMEDOUT || rc == EINTR);
      env.meter.resume();
      if (stop_requested() && rc != 0 && rc != EOWNERDEAD) break;
    }
    if (rc == EOWNERDEAD) {
      if (!noted) env.notes.push_back("mutex-contention: a contender died holding the lock");
      noted = true;
      pthread_mutex_consistent(&g.mutex);
      rc = 0;
    }
    if (rc != 0)
      return Error(Errc::kIo, std::string("mutex-contention: lock: ") + std::strerror(rc), rc);
    x = spin(env.spec.spin_iters, x);
    ++g.counter;
    pthread_mutex_unlock(&g.mutex);
    x = spin(env.spec.spin_iters, x);
    env.meter.tick(1);
  }
  asm volatile("" : : "r"(x));
  return {};
}

}  // namespace ktstr::workload::detail
