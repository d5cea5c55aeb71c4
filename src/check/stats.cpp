#include "check/detail/stats.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

#include "check/detail/num.h"
#include "topology/cpuset.h"

namespace ktstr::check::detail {

std::string cgroup_label(const std::string& cgroup) {
  return cgroup.empty() ? "host" : one_line(cgroup, 64);
}

WorkerView view(const workload::WorkerReport& r) {
  WorkerView w;
  w.report = &r;
  w.wall_ms = static_cast<double>(r.wall_time_ns) / 1e6;
  w.gap_ms = static_cast<double>(r.max_gap_ns) / 1e6;
  if (std::isfinite(r.off_cpu_pct)) {
    w.off_cpu_pct = std::clamp(r.off_cpu_pct, 0.0, 100.0);
  } else if (r.wall_time_ns > 0) {
    // The report's own field is unusable; fall back to its definition.
    const double on =
        std::min(1.0, static_cast<double>(r.cpu_time_ns) / static_cast<double>(r.wall_time_ns));
    w.off_cpu_pct = 100.0 * (1.0 - on);
  }
  if (r.wall_time_ns > 0) {
    const double wall_s = static_cast<double>(r.wall_time_ns) / 1e9;
    w.work_rate = static_cast<double>(r.work_units) / wall_s;
    w.iteration_rate = static_cast<double>(r.iterations) / wall_s;
  }
  return w;
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return 0;
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

double cv(const std::vector<double>& v) {
  if (v.size() < 2) return 0;
  const double m = mean(v);
  if (!(m > 0) || !std::isfinite(m)) return 0;
  double sq = 0;
  for (double x : v) sq += (x - m) * (x - m);
  const double r = std::sqrt(sq / static_cast<double>(v.size())) / m;
  return std::isfinite(r) ? r : 0;
}

uint64_t sat_add(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

std::vector<Group> group_reports(const std::vector<workload::WorkerReport>& reports) {
  std::map<std::string, Group> by_name;
  for (const auto& r : reports) {
    Group& g = by_name[r.cgroup];
    g.cgroup = r.cgroup;
    g.all.push_back(&r);
  }
  std::vector<Group> out;
  for (auto& [name, g] : by_name) {
    // Index order; equal indexes keep report order (pointers into one vector).
    // Not stable_sort: clang warns on libstdc++ 12's get_temporary_buffer.
    std::sort(g.all.begin(), g.all.end(), [](const auto* a, const auto* b) {
      return a->index != b->index ? a->index < b->index : std::less<>()(a, b);
    });
    for (const auto* r : g.all) {
      if (!r->error.empty()) continue;
      g.ok.push_back(view(*r));
      g.wake_ns.insert(g.wake_ns.end(), r->wake_latency_ns.begin(), r->wake_latency_ns.end());
    }
    out.push_back(std::move(g));
  }
  return out;
}

CgroupStats compute_stats(const Group& g) {
  CgroupStats s;
  s.name = cgroup_label(g.cgroup);
  s.workers = static_cast<uint32_t>(g.all.size());
  s.errors = static_cast<uint32_t>(s.workers - g.ok.size());

  topo::CpuSet cpus;
  std::vector<double> off_cpu, rates;
  for (const WorkerView& w : g.ok) {
    const auto& r = *w.report;
    for (uint32_t c : r.cpus_used) cpus.add(c);
    if (r.wall_time_ns > 0) off_cpu.push_back(w.off_cpu_pct);
    if (w.work_rate) rates.push_back(*w.work_rate);
    if (w.gap_ms > s.worst_gap_ms || s.worst_gap_worker < 0) {
      s.worst_gap_ms = w.gap_ms;
      s.worst_gap_worker = static_cast<int>(r.index);
      s.worst_gap_cpu = r.max_gap_cpu;
      s.worst_gap_at_ms = static_cast<double>(r.max_gap_at_ns) / 1e6;
    }
    s.migrations = sat_add(s.migrations, r.migrations);
    s.iterations = sat_add(s.iterations, r.iterations);
    s.work_units = sat_add(s.work_units, r.work_units);
  }
  s.cpus = cpus.to_list();
  if (!off_cpu.empty()) {
    const auto [lo, hi] = std::minmax_element(off_cpu.begin(), off_cpu.end());
    s.min_off_cpu_pct = *lo;
    s.max_off_cpu_pct = *hi;
    s.spread_pct = *hi - *lo;
  }
  if (s.iterations > 0)
    s.migration_ratio = static_cast<double>(s.migrations) / static_cast<double>(s.iterations);
  s.mean_work_rate = mean(rates);
  s.throughput_cv = cv(rates);

  s.wake_samples = g.wake_ns.size();
  if (!g.wake_ns.empty()) {
    s.p50_wake_latency_us = static_cast<double>(percentile(g.wake_ns, 50)) / 1e3;
    s.p99_wake_latency_us = static_cast<double>(percentile(g.wake_ns, 99)) / 1e3;
    std::vector<double> us;
    us.reserve(g.wake_ns.size());
    for (uint64_t ns : g.wake_ns) us.push_back(static_cast<double>(ns) / 1e3);
    s.wake_latency_cv = cv(us);
  }
  return s;
}

}  // namespace ktstr::check::detail
