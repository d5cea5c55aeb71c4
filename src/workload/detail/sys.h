// Worker-side system helpers: clocks, the spin kernel, futexes, interruptible
// sleeps, anonymous mappings, the stop flag, schedstat and NUMA page lookup.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

namespace ktstr::workload::detail {

// Blocking waits in workers never exceed this, so a stop is seen promptly
// even when a partner is stopped or gone.
constexpr uint64_t kPollSliceNs = 10'000'000;

// One cpu-spin iteration: ~10-30 us on a current x86 core.
constexpr uint64_t kSpinBlockOps = 16384;

uint64_t mono_ns();
uint64_t thread_cpu_ns();

// Dependent multiply/xorshift chain the compiler cannot elide; returns the state.
uint64_t spin(uint64_t ops, uint64_t state = 0x9e3779b97f4a7c15ULL);

// Set from the SIGUSR1/SIGTERM/SIGINT handler.
bool stop_requested();
void install_stop_handlers();  // also ignores SIGPIPE, defaults SIGCHLD/SIGHUP

// Sleeps `ns` in slices of at most kPollSliceNs; false when a stop came first.
bool sleep_ns(uint64_t ns);

// futex(2) on a word in (possibly shared) memory; never FUTEX_PRIVATE.
// Returns 0 when woken, else the errno (EAGAIN, ETIMEDOUT, EINTR).
int futex_wait(uint32_t* word, uint32_t expected, uint64_t timeout_ns);
void futex_wake(uint32_t* word, int count);

// splitmix64: a small fixed-seed PRNG (reservoir sampling, random CPUs).
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next();
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }

 private:
  uint64_t s_;
};

// Anonymous mmap, unmapped on destruction. Fresh pages, so a memory policy
// set before the first touch decides their node. `shared` = MAP_SHARED, for
// memory a parent shares with the workers it forks.
class Mapping {
 public:
  static Result<Mapping> anonymous(size_t bytes, bool shared = false);
  Mapping() = default;
  Mapping(Mapping&& o) noexcept;
  Mapping& operator=(Mapping&& o) noexcept;
  ~Mapping();
  uint8_t* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  uint8_t* p_ = nullptr;
  size_t n_ = 0;
};

struct Schedstat {
  uint64_t run_ns = 0, wait_ns = 0, timeslices = 0;
  bool ok = false;
};
Schedstat read_schedstat();

// Node of up to `max_pages` pages spread over `regions`, via move_pages(2)
// with nodes=NULL; pages not present are skipped. Empty if unsupported.
std::map<uint32_t, uint64_t> numa_pages(std::span<const std::pair<const void*, size_t>> regions,
                                        size_t max_pages = 4096);

// Closes every fd >= 3 not in `keep`.
void close_fds_except(std::vector<int> keep);

}  // namespace ktstr::workload::detail
