// Helpers for the workload tests: run workers until each made progress,
// read /proc/<pid>/stat, check a report's invariants.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "workload/worker.h"

namespace ktstr::workload::testing {

using namespace std::chrono_literals;

// Runs started workers for at least `min`, then until every worker has done
// `iterations` iterations or `deadline` passed (slow, busy machines).
inline bool run_until_progress(const WorkerSet& set, std::chrono::milliseconds min,
                               uint64_t iterations = 1, std::chrono::milliseconds deadline = 30s) {
  const auto t0 = std::chrono::steady_clock::now();
  while (true) {
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    bool all = true;
    for (const auto& p : set.progress()) all = all && p.iterations >= iterations;
    if (all && elapsed >= min) return true;
    if (elapsed >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
}

// Field `n` (1-based, as in proc(5)) of /proc/<pid>/stat, or -1.
inline long long proc_stat_field(pid_t pid, int n) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto close = s.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(s.substr(close + 2));  // field 3 onwards
  std::string tok;
  for (int i = 3; rest >> tok; ++i)
    if (i == n) return tok.size() == 1 && !isdigit(tok[0]) ? tok[0] : std::stoll(tok);
  return -1;
}

inline bool process_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

// Invariants of a report from a worker that ran.
inline void expect_sane(const WorkerReport& r) {
  SCOPED_TRACE("worker " + std::to_string(r.index) + " " + r.work_type + " " + r.role);
  EXPECT_EQ(r.error, "");
  EXPECT_GT(r.work_units, 0u);
  EXPECT_GT(r.iterations, 0u);
  EXPECT_GT(r.wall_time_ns, 0u);
  EXPECT_LE(r.cpu_time_ns, r.wall_time_ns);
  EXPECT_GE(r.off_cpu_pct, 0.0);
  EXPECT_LE(r.off_cpu_pct, 100.0);
  EXPECT_FALSE(r.cpus_used.empty());
  EXPECT_TRUE(std::is_sorted(r.cpus_used.begin(), r.cpus_used.end()));
  EXPECT_LE(r.wake_latency_ns.size(), 100'000u);
  EXPECT_EQ(r.wake_latency_ns.size(), std::min<uint64_t>(r.wake_samples_seen, 100'000));
  EXPECT_LE(r.max_gap_at_ns, r.wall_time_ns);
  if (r.max_gap_ns > 0) {
    EXPECT_GE(r.max_gap_cpu, 0);
  }
}

}  // namespace ktstr::workload::testing
