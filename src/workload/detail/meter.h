// Meter: per-iteration measurements inside a worker — work units, gaps
// between iterations and the CPU they ended on, migrations, CPUs used,
// wake-latency reservoir, CPU/wall time and schedstat deltas.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "workload/detail/sys.h"
#include "workload/report.h"

namespace ktstr::workload::detail {

// Algorithm R over a fixed-seed PRNG: a uniform sample of at most `cap`.
class Reservoir {
 public:
  static constexpr size_t kCap = 100'000;
  explicit Reservoir(uint64_t seed, size_t cap = kCap) : rng_(seed), cap_(cap) {}
  void add(uint64_t v);
  uint64_t seen() const { return seen_; }
  const std::vector<uint64_t>& samples() const { return samples_; }

 private:
  Rng rng_;
  size_t cap_;
  uint64_t seen_ = 0;
  std::vector<uint64_t> samples_;
};

// Shared-memory live counters the parent can read (one cache line per worker).
struct alignas(64) ProgressSlot {
  std::atomic<uint64_t> iterations{0};
  std::atomic<uint64_t> work_units{0};
};

class Meter {
 public:
  Meter(uint64_t seed, ProgressSlot* progress) : wake_(seed), progress_(progress) {}

  void begin();  // at release: zero points for times and schedstat
  // End of one loop iteration that did `units` of work.
  void tick(uint64_t units);
  // Around voluntary blocking (sleep, waiting for a partner): the time in
  // between is not a scheduling gap.
  void pause();
  void resume();
  void wake_latency(uint64_t ns) { wake_.add(ns); }
  // Fills the measurement fields of `r`.
  void finish(WorkerReport& r);

 private:
  void checkpoint(bool gap);

  Reservoir wake_;
  ProgressSlot* progress_;
  uint64_t start_ns_ = 0, cpu_start_ns_ = 0, last_ns_ = 0;
  Schedstat ss_start_;
  int last_cpu_ = -1;
  uint64_t iterations_ = 0, units_ = 0, migrations_ = 0;
  uint64_t max_gap_ns_ = 0, max_gap_at_ns_ = 0;
  int max_gap_cpu_ = -1;
  std::vector<bool> cpus_;
};

}  // namespace ktstr::workload::detail
