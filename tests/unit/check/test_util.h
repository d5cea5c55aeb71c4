// Helpers shared by the check unit tests: synthetic worker reports and
// finding lookups.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "check/checks.h"

namespace ktstr::check::testing {

constexpr uint64_t kMs = 1'000'000;  // ns

// A healthy cpu-spin worker: 5 s, 1000 units and iterations, 10 ms worst gap
// on cpu 0, never off CPU.
inline workload::WorkerReport worker(const std::string& cgroup, uint32_t index) {
  workload::WorkerReport r;
  r.cgroup = cgroup;
  r.index = index;
  r.pid = static_cast<int32_t>(100 + index);
  r.work_type = "cpu-spin";
  r.work_units = 1000;
  r.iterations = 1000;
  r.cpu_time_ns = 5000 * kMs;
  r.wall_time_ns = 5000 * kMs;
  r.off_cpu_pct = 0;
  r.max_gap_ns = 10 * kMs;
  r.max_gap_cpu = 0;
  r.max_gap_at_ns = 100 * kMs;
  r.cpus_used = {0};
  return r;
}

inline Thresholds scenario(const std::map<std::string, double>& values) {
  auto t = parse_thresholds(values, Origin::kScenario);
  EXPECT_TRUE(t.ok()) << t.error().message();
  return t.ok() ? *t : Thresholds{};
}

inline RunContext tcg(double time_scale = 4) {
  RunContext ctx;
  ctx.emulated = true;
  ctx.time_scale = time_scale;
  return ctx;
}

inline std::vector<Finding> of(const Verdict& v, const std::string& check) {
  std::vector<Finding> out;
  for (const auto& f : v.findings)
    if (f.check == check) out.push_back(f);
  return out;
}

// The only finding of `check`; fails the test if there is not exactly one.
inline Finding one(const Verdict& v, const std::string& check) {
  auto all = of(v, check);
  EXPECT_EQ(all.size(), 1u) << "findings of " << check << " in: " << format_details(v);
  return all.empty() ? Finding{} : all.front();
}

}  // namespace ktstr::check::testing
