// The verdict as text for a person (format_details) and as JSON for the
// sidecar.
#include <fmt/format.h>

#include "check/checks.h"
#include "check/detail/num.h"
#include "check/detail/table.h"

namespace ktstr::check {
namespace {

using detail::fixed;
using detail::num;

std::string gap_cell(const CgroupStats& s) {
  if (s.worst_gap_worker < 0) return "-";
  std::string where = fmt::format("w{}", s.worst_gap_worker);
  if (s.worst_gap_cpu >= 0) where += fmt::format(" cpu{}", s.worst_gap_cpu);
  return fmt::format("{} ms ({} +{} ms)", num(s.worst_gap_ms, 1), where, num(s.worst_gap_at_ms, 0));
}

std::string stats_table(const std::vector<CgroupStats>& stats) {
  bool any_wake = false;
  for (const auto& s : stats) any_wake = any_wake || s.wake_samples > 0;
  std::vector<std::vector<std::string>> rows = {{"cgroup", "workers", "cpus", "spread", "off-CPU",
                                                 "worst gap", "migrations", "iterations",
                                                 "work/s"}};
  if (any_wake) rows[0].push_back("wake p99");
  for (const auto& s : stats) {
    std::string workers = std::to_string(s.workers);
    if (s.errors > 0) workers += fmt::format(" ({} failed)", s.errors);
    rows.push_back(
        {s.name, workers, s.cpus.empty() ? "-" : s.cpus,
         fmt::format("{} %", fixed(s.spread_pct, 1)),
         fmt::format("{}..{} %", fixed(s.min_off_cpu_pct, 1), fixed(s.max_off_cpu_pct, 1)),
         gap_cell(s), std::to_string(s.migrations), std::to_string(s.iterations),
         num(s.mean_work_rate, 1)});
    if (any_wake)
      rows.back().push_back(s.wake_samples > 0 ? fmt::format("{} us", num(s.p99_wake_latency_us, 1))
                                               : "-");
  }
  return detail::render_table(rows, {false, true, false, true, true, false, true, true, true, true},
                              "  ");
}

}  // namespace

std::string format_details(const Verdict& verdict) {
  std::string out;
  for (const auto& f : verdict.findings)
    if (f.failed) out += fmt::format("FAIL  {}\n", f.message);
  for (const auto& f : verdict.findings)
    if (f.advisory) out += fmt::format("note  {}\n", f.message);
  if (!out.empty()) out += '\n';
  if (verdict.stats.empty()) return out + "no worker reports\n";
  return out + "per cgroup:\n" + stats_table(verdict.stats);
}

nlohmann::json to_json(const Finding& f) {
  return {{"check", f.check},   {"cgroup", f.cgroup},     {"worker", f.worker},
          {"failed", f.failed}, {"advisory", f.advisory}, {"message", f.message},
          {"value", f.value},   {"limit", f.limit}};
}

nlohmann::json to_json(const CgroupStats& s) {
  return {{"name", s.name},
          {"workers", s.workers},
          {"errors", s.errors},
          {"cpus", s.cpus},
          {"min_off_cpu_pct", s.min_off_cpu_pct},
          {"max_off_cpu_pct", s.max_off_cpu_pct},
          {"spread_pct", s.spread_pct},
          {"worst_gap_ms", s.worst_gap_ms},
          {"worst_gap_worker", s.worst_gap_worker},
          {"worst_gap_cpu", s.worst_gap_cpu},
          {"worst_gap_at_ms", s.worst_gap_at_ms},
          {"migrations", s.migrations},
          {"iterations", s.iterations},
          {"work_units", s.work_units},
          {"migration_ratio", s.migration_ratio},
          {"mean_work_rate", s.mean_work_rate},
          {"throughput_cv", s.throughput_cv},
          {"wake_samples", s.wake_samples},
          {"p50_wake_latency_us", s.p50_wake_latency_us},
          {"p99_wake_latency_us", s.p99_wake_latency_us},
          {"wake_latency_cv", s.wake_latency_cv}};
}

nlohmann::json to_json(const Verdict& v) {
  nlohmann::json findings = nlohmann::json::array(), stats = nlohmann::json::array();
  for (const auto& f : v.findings) findings.push_back(to_json(f));
  for (const auto& s : v.stats) stats.push_back(to_json(s));
  return {{"passed", v.passed}, {"summary", v.summary}, {"findings", findings}, {"stats", stats}};
}

}  // namespace ktstr::check
