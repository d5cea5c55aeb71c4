// Statistics behind the checks (internal): sanitised per-worker numbers,
// percentiles, coefficients of variation and per-cgroup aggregation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "check/checks.h"
#include "util/percentile.h"
#include "workload/report.h"

namespace ktstr::check::detail {

// "host" for the unnamed cgroup of host workers, else the name.
std::string cgroup_label(const std::string& cgroup);

// One worker's numbers, finite and in range whatever the guest sent.
struct WorkerView {
  const workload::WorkerReport* report = nullptr;
  double wall_ms = 0;
  double off_cpu_pct = 0;  // [0, 100]
  double gap_ms = 0;
  std::optional<double> work_rate;       // units/s; nullopt when wall time is 0
  std::optional<double> iteration_rate;  // iterations/s; nullopt when wall time is 0
};
WorkerView view(const workload::WorkerReport& r);

using ktstr::percentile;  // util/percentile.h
double mean(const std::vector<double>& v);  // 0 when empty
// Population stddev / mean; 0 with fewer than two values or a zero mean.
double cv(const std::vector<double>& v);

uint64_t sat_add(uint64_t a, uint64_t b);

// The workers of one cgroup, in report-index order.
struct Group {
  std::string cgroup;                              // as in the reports
  std::vector<const workload::WorkerReport*> all;  // including failed ones
  std::vector<WorkerView> ok;                      // without error set
  std::vector<uint64_t> wake_ns;                   // pooled samples of `ok`
};
// Groups sorted by cgroup name. They point into `reports`, which must outlive them.
std::vector<Group> group_reports(const std::vector<workload::WorkerReport>& reports);
std::vector<Group> group_reports(std::vector<workload::WorkerReport>&&) = delete;
CgroupStats compute_stats(const Group& g);

}  // namespace ktstr::check::detail
