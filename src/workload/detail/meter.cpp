#include "workload/detail/meter.h"

#include <sched.h>

#include <algorithm>

namespace ktstr::workload::detail {

void Reservoir::add(uint64_t v) {
  ++seen_;
  if (samples_.size() < cap_) {
    samples_.push_back(v);
    return;
  }
  uint64_t j = rng_.below(seen_);
  if (j < cap_) samples_[j] = v;
}

void Meter::begin() {
  ss_start_ = read_schedstat();
  cpu_start_ns_ = thread_cpu_ns();
  start_ns_ = last_ns_ = mono_ns();
  int cpu = ::sched_getcpu();
  if (cpu >= 0) {
    last_cpu_ = cpu;
    cpus_.resize(static_cast<size_t>(cpu) + 1);
    cpus_[static_cast<size_t>(cpu)] = true;
  }
}

void Meter::checkpoint(bool gap) {
  const uint64_t now = mono_ns();
  const int cpu = ::sched_getcpu();
  if (cpu >= 0) {
    if (last_cpu_ >= 0 && cpu != last_cpu_) ++migrations_;
    last_cpu_ = cpu;
    if (static_cast<size_t>(cpu) >= cpus_.size()) cpus_.resize(static_cast<size_t>(cpu) + 1);
    cpus_[static_cast<size_t>(cpu)] = true;
  }
  if (gap && now - last_ns_ > max_gap_ns_) {
    max_gap_ns_ = now - last_ns_;
    max_gap_cpu_ = cpu;
    max_gap_at_ns_ = now - start_ns_;
  }
  last_ns_ = now;
}

void Meter::tick(uint64_t units) {
  checkpoint(true);
  ++iterations_;
  units_ += units;
  if (progress_) {
    progress_->iterations.store(iterations_, std::memory_order_relaxed);
    progress_->work_units.store(units_, std::memory_order_relaxed);
  }
}

void Meter::pause() { checkpoint(true); }
void Meter::resume() { checkpoint(false); }

void Meter::finish(WorkerReport& r) {
  const uint64_t wall = start_ns_ ? mono_ns() - start_ns_ : 0;
  const uint64_t cpu = start_ns_ ? thread_cpu_ns() - cpu_start_ns_ : 0;
  r.work_units = units_;
  r.iterations = iterations_;
  r.wall_time_ns = wall;
  r.cpu_time_ns = std::min(cpu, wall);  // the clocks differ by their tick granularity
  r.off_cpu_pct =
      wall ? std::clamp(100.0 * (1.0 - double(r.cpu_time_ns) / double(wall)), 0.0, 100.0) : 0.0;
  r.max_gap_ns = max_gap_ns_;
  r.max_gap_cpu = max_gap_cpu_;
  r.max_gap_at_ns = max_gap_at_ns_;
  r.migrations = migrations_;
  r.cpus_used.clear();
  for (size_t c = 0; c < cpus_.size(); ++c)
    if (cpus_[c]) r.cpus_used.push_back(static_cast<uint32_t>(c));
  r.wake_latency_ns = wake_.samples();
  r.wake_samples_seen = wake_.seen();
  Schedstat end = read_schedstat();
  if (start_ns_ && ss_start_.ok && end.ok) {
    r.schedstat_run_ns = end.run_ns - ss_start_.run_ns;
    r.schedstat_wait_ns = end.wait_ns - ss_start_.wait_ns;
    r.schedstat_timeslices = end.timeslices - ss_start_.timeslices;
  }
}

}  // namespace ktstr::workload::detail
