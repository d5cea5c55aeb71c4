// evaluate(): one function per check over the reports grouped by cgroup.
// Findings are collected per check and ordered failures-first, in the order
// of kCheckNames (most fundamental first), so the summary names the most
// useful failure.
#include "check/checks.h"

#include <array>
#include <cmath>

#include <fmt/format.h>

#include "check/detail/num.h"
#include "check/detail/stats.h"
#include "topology/cpuset.h"

namespace ktstr::check {
namespace {

using detail::Group;
using detail::num;
using detail::WorkerView;

enum Check : size_t {
  kError,
  kStarvation,
  kIsolation,
  kGap,
  kSpread,
  kMigrationRatio,
  kNumaLocality,
  kThroughputCv,
  kWorkRate,
  kIterationRate,
  kWakeP99,
  kWakeCv,
  kCheckCount,
};
constexpr std::array<std::string_view, kCheckCount> kCheckNames = {
    "error",     "starvation",      "isolation",        "gap",
    "spread",    "migration_ratio", "numa_locality",    "throughput_cv",
    "work_rate", "iteration_rate",  "wake_latency_p99", "wake_latency_cv"};

constexpr std::string_view kTcgAdvisory = "emulated (TCG): timing advisory";

// The scale applied to scaled limits: only under TCG, never below 1.
double effective_scale(const RunContext& ctx) {
  if (!ctx.emulated || !std::isfinite(ctx.time_scale) || ctx.time_scale < 1) return 1;
  return ctx.time_scale;
}

class Collector {
 public:
  explicit Collector(const RunContext& ctx) : ctx_(ctx) {}

  // A finding that fails everywhere.
  void fail(Check c, Finding f) { add(c, std::move(f), false); }
  // Fails, or is advisory under TCG, as tcg_policy(key) says (scaled checks
  // apply their scale before calling).
  void judge(Check c, std::string_view key, Finding f) {
    add(c, std::move(f), ctx_.emulated && tcg_policy(key) == TcgPolicy::kAdvisory);
  }
  // Advisory everywhere (reported for context, never fails).
  void advise(Check c, Finding f) { add(c, std::move(f), true); }

  std::vector<Finding> ordered() && {
    std::vector<Finding> out;
    for (bool advisory : {false, true})
      for (auto& list : by_check_)
        for (auto& f : list)
          if (f.advisory == advisory) out.push_back(std::move(f));
    return out;
  }

 private:
  void add(Check c, Finding f, bool advisory) {
    f.check = std::string(kCheckNames[c]);
    f.advisory = advisory;
    f.failed = !advisory;
    if (advisory) f.message += fmt::format(" [{}]", kTcgAdvisory);
    by_check_[c].push_back(std::move(f));
  }

  const RunContext& ctx_;
  std::array<std::vector<Finding>, kCheckCount> by_check_;
};

Finding worker_finding(const Group& g, const workload::WorkerReport& r, std::string message,
                       double value, double limit) {
  return Finding{.cgroup = g.cgroup,
                 .worker = static_cast<int>(r.index),
                 .message = std::move(message),
                 .value = value,
                 .limit = limit};
}

Finding cgroup_finding(const Group& g, std::string message, double value, double limit) {
  return Finding{.cgroup = g.cgroup, .message = std::move(message), .value = value, .limit = limit};
}

// "3,5-6" for ids a CpuSet can hold, then any absurd ids a guest sent.
std::string cpu_list(const std::vector<uint32_t>& ids) {
  topo::CpuSet set;
  std::string big;
  for (uint32_t c : ids) {
    if (c < topo::CpuSet::kMaxCpus)
      set.add(c);
    else
      big += fmt::format(",{}", c);
  }
  std::string s = set.to_list() + big;
  if (!s.empty() && s.front() == ',') s.erase(0, 1);
  return s;
}

void check_errors(const Group& g, Collector& out) {
  const std::string label = detail::cgroup_label(g.cgroup);
  for (const auto* r : g.all) {
    if (r->error.empty()) continue;
    out.fail(kError, worker_finding(g, *r,
                                    fmt::format("{}: worker {} failed: {}", label, r->index,
                                                detail::one_line(r->error)),
                                    0, 0));
  }
}

void check_starvation(const Group& g, const RunContext& ctx, Collector& out) {
  const std::string label = detail::cgroup_label(g.cgroup);
  for (const WorkerView& w : g.ok) {
    const auto& r = *w.report;
    if (r.work_units > 0) continue;
    const double ms = w.wall_ms > 0 ? w.wall_ms : static_cast<double>(ctx.duration_ms);
    const std::string in = ms > 0 ? fmt::format(" in {} ms", num(ms, 0)) : "";
    out.judge(
        kStarvation, "starvation",
        worker_finding(
            g, r, fmt::format("{}: worker {} did no work{} (starved)", label, r.index, in), 0, 0));
  }
}

void check_isolation(const Group& g, const RunContext& ctx, Collector& out) {
  const auto it = ctx.cgroup_cpusets.find(g.cgroup);
  if (it == ctx.cgroup_cpusets.end() || it->second.empty()) return;  // not confined
  const topo::CpuSet& allowed = it->second;
  for (const WorkerView& w : g.ok) {
    std::vector<uint32_t> outside;
    for (uint32_t c : w.report->cpus_used)
      if (!allowed.contains(c)) outside.push_back(c);
    if (outside.empty()) continue;
    out.judge(kIsolation, "isolation",
              worker_finding(g, *w.report,
                             fmt::format("{}: worker {} ran on {} {} outside its cpuset {}",
                                         detail::cgroup_label(g.cgroup), w.report->index,
                                         outside.size() == 1 ? "cpu" : "cpus", cpu_list(outside),
                                         allowed.to_list()),
                             static_cast<double>(outside.size()), 0));
  }
}

void check_gap(const Group& g, double limit_ms, const RunContext& ctx, Collector& out) {
  const double scale = effective_scale(ctx);
  const double scaled = limit_ms * scale;
  const std::string limit_text =
      ctx.emulated ? fmt::format("{} ms × {} under TCG", num(limit_ms), num(scale))
                   : fmt::format("{} ms", num(limit_ms));
  for (const WorkerView& w : g.ok) {
    const auto& r = *w.report;
    if (w.gap_ms <= limit_ms) continue;
    std::string msg = fmt::format("{}: worker {} stuck {} ms", detail::cgroup_label(g.cgroup),
                                  r.index, num(w.gap_ms, 1));
    if (r.max_gap_cpu >= 0) msg += fmt::format(" on cpu{}", r.max_gap_cpu);
    msg += fmt::format(" at +{} ms", num(static_cast<double>(r.max_gap_at_ns) / 1e6, 0));
    if (w.gap_ms > scaled) {
      out.judge(
          kGap, "max_gap_ms",
          worker_finding(g, r, msg + fmt::format(" (limit {})", limit_text), w.gap_ms, scaled));
    } else {  // over the KVM limit, within the TCG allowance
      out.advise(kGap,
                 worker_finding(
                     g, r, msg + fmt::format(" (over {} ms, within {})", num(limit_ms), limit_text),
                     w.gap_ms, scaled));
    }
  }
}

void check_spread(const Group& g, const CgroupStats& s, double limit, const RunContext& ctx,
                  Collector& out) {
  size_t measured = 0;
  for (const WorkerView& w : g.ok) measured += w.report->wall_time_ns > 0;
  if (measured < 2 || s.spread_pct <= limit) return;
  // Under TCG a vCPU waits its turn in the single-threaded round robin while
  // its workers' wall clocks run on, so siblings on different vCPUs differ in
  // off-CPU % by chance: only a spread beyond limit x time scale (at most
  // 100 %) is gross unfairness; above the limit alone it is advisory.
  const double scaled = std::min(100.0, limit * effective_scale(ctx));
  const std::string text = fmt::format("{}: fairness spread {} % (off-CPU {} %..{} %)", s.name,
                                       detail::fixed(s.spread_pct, 1),
                                       detail::fixed(s.min_off_cpu_pct, 1),
                                       detail::fixed(s.max_off_cpu_pct, 1));
  if (!ctx.emulated) {
    out.judge(kSpread, "max_spread_pct",
              cgroup_finding(g, fmt::format("{} exceeds {} %", text, num(limit)), s.spread_pct,
                             limit));
  } else if (s.spread_pct > scaled) {
    out.judge(kSpread, "max_spread_pct",
              cgroup_finding(g,
                             fmt::format("{} exceeds {} % ({} % × {} under TCG)", text,
                                         num(scaled), num(limit), num(effective_scale(ctx))),
                             s.spread_pct, scaled));
  } else {
    out.advise(kSpread,
               cgroup_finding(g,
                              fmt::format("{} over {} %, within {} % × {} under TCG", text,
                                          num(limit), num(limit), num(effective_scale(ctx))),
                              s.spread_pct, scaled));
  }
}

void check_migration_ratio(const Group& g, const CgroupStats& s, double limit, Collector& out) {
  if (s.iterations == 0 || s.migration_ratio <= limit) return;
  out.judge(kMigrationRatio, "max_migration_ratio",
            cgroup_finding(
                g,
                fmt::format("{}: migration ratio {} ({} migrations / {} iterations) "
                            "exceeds {}",
                            s.name, num(s.migration_ratio), s.migrations, s.iterations, num(limit)),
                s.migration_ratio, limit));
}

void check_numa_locality(const Group& g, double limit, const RunContext& ctx, Collector& out) {
  const auto it = ctx.cgroup_numa_nodes.find(g.cgroup);
  if (it == ctx.cgroup_numa_nodes.end() || it->second.empty()) return;  // no policy
  const std::vector<uint32_t>& nodes = it->second;
  for (const WorkerView& w : g.ok) {
    const auto& pages = w.report->numa_pages;
    if (pages.empty()) continue;  // not a memory-policy worker
    uint64_t total = 0, local = 0;
    for (const auto& [node, n] : pages) {
      total = detail::sat_add(total, n);
      if (std::find(nodes.begin(), nodes.end(), node) != nodes.end())
        local = detail::sat_add(local, n);
    }
    // No pages at all is not "local": the worker touched no memory.
    const double locality =
        total > 0 ? static_cast<double>(local) / static_cast<double>(total) : 0.0;
    if (locality >= limit) continue;
    out.judge(kNumaLocality, "min_numa_locality",
              worker_finding(g, *w.report,
                             fmt::format("{}: worker {} NUMA locality {} % ({} of {} pages on {} "
                                         "{}) below {} %",
                                         detail::cgroup_label(g.cgroup), w.report->index,
                                         detail::fixed(locality * 100, 1), local, total,
                                         nodes.size() == 1 ? "node" : "nodes", cpu_list(nodes),
                                         num(limit * 100)),
                             locality, limit));
  }
}

void check_throughput_cv(const Group& g, const CgroupStats& s, double limit, Collector& out) {
  std::vector<double> rates;
  for (const WorkerView& w : g.ok)
    if (w.work_rate) rates.push_back(*w.work_rate);
  if (rates.size() < 2 || s.throughput_cv <= limit) return;
  const auto [lo, hi] = std::minmax_element(rates.begin(), rates.end());
  out.judge(kThroughputCv, "max_throughput_cv",
            cgroup_finding(g,
                           fmt::format("{}: work rate CV {} across {} workers ({}..{} units/s) "
                                       "exceeds {}",
                                       s.name, num(s.throughput_cv, 2), rates.size(), num(*lo, 1),
                                       num(*hi, 1), num(limit)),
                           s.throughput_cv, limit));
}

// min_work_rate / min_iteration_rate: per worker, rate over its wall time.
void check_rate(const Group& g, Check c, double limit, bool skip_starved, Collector& out) {
  const bool work = c == kWorkRate;
  for (const WorkerView& w : g.ok) {
    const auto& rate = work ? w.work_rate : w.iteration_rate;
    if (!rate || *rate >= limit) continue;
    if (skip_starved && w.report->work_units == 0) continue;  // starvation says it already
    out.judge(c, work ? "min_work_rate" : "min_iteration_rate",
              worker_finding(g, *w.report,
                             fmt::format("{}: worker {} {} rate {} /s below {} /s",
                                         detail::cgroup_label(g.cgroup), w.report->index,
                                         work ? "work" : "iteration", num(*rate, 1), num(limit)),
                             *rate, limit));
  }
}

void check_wake_p99(const Group& g, const CgroupStats& s, double limit, Collector& out) {
  if (s.wake_samples == 0 || s.p99_wake_latency_us <= limit) return;
  out.judge(
      kWakeP99, "max_p99_wake_latency_us",
      cgroup_finding(g,
                     fmt::format("{}: wake latency p99 {} us exceeds {} us ({} "
                                 "samples)",
                                 s.name, num(s.p99_wake_latency_us, 1), num(limit), s.wake_samples),
                     s.p99_wake_latency_us, limit));
}

void check_wake_cv(const Group& g, const CgroupStats& s, double limit, Collector& out) {
  if (s.wake_samples < 2 || s.wake_latency_cv <= limit) return;
  out.judge(kWakeCv, "max_wake_latency_cv",
            cgroup_finding(g,
                           fmt::format("{}: wake latency CV {} exceeds {} ({} samples)", s.name,
                                       num(s.wake_latency_cv, 2), num(limit), s.wake_samples),
                           s.wake_latency_cv, limit));
}

std::string summarize(const Verdict& v, size_t reports) {
  const auto plural = [](size_t n, std::string_view word) {
    return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s");
  };
  size_t failures = 0, advisories = 0;
  const Finding* first = nullptr;
  for (const auto& f : v.findings) {
    if (f.failed && !first) first = &f;
    failures += f.failed;
    advisories += f.advisory;
  }
  if (first) {
    std::string s = first->message;
    if (failures > 1)
      s += fmt::format(" (+{} more failure{})", failures - 1, failures == 2 ? "" : "s");
    return s;
  }
  if (reports == 0) return "passed: no worker reports";
  std::string s =
      fmt::format("passed: {} in {}", plural(reports, "worker"), plural(v.stats.size(), "cgroup"));
  if (advisories > 0) s += fmt::format(" ({})", plural(advisories, "advisory"));
  return s;
}

}  // namespace

Verdict evaluate(const std::vector<workload::WorkerReport>& reports, const Thresholds& thresholds,
                 const RunContext& ctx) {
  const Limits lim = resolve(thresholds);
  Collector out(ctx);
  Verdict v;
  for (const Group& g : detail::group_reports(reports)) {
    const CgroupStats s = detail::compute_stats(g);
    check_errors(g, out);
    if (lim.starvation) check_starvation(g, ctx, out);
    if (lim.isolation) check_isolation(g, ctx, out);
    if (lim.max_gap_ms) check_gap(g, *lim.max_gap_ms, ctx, out);
    if (lim.max_spread_pct) check_spread(g, s, *lim.max_spread_pct, ctx, out);
    if (lim.max_migration_ratio) check_migration_ratio(g, s, *lim.max_migration_ratio, out);
    if (lim.min_numa_locality) check_numa_locality(g, *lim.min_numa_locality, ctx, out);
    if (lim.max_throughput_cv) check_throughput_cv(g, s, *lim.max_throughput_cv, out);
    if (lim.min_work_rate) check_rate(g, kWorkRate, *lim.min_work_rate, lim.starvation, out);
    if (lim.min_iteration_rate)
      check_rate(g, kIterationRate, *lim.min_iteration_rate, lim.starvation, out);
    if (lim.max_p99_wake_latency_us) check_wake_p99(g, s, *lim.max_p99_wake_latency_us, out);
    if (lim.max_wake_latency_cv) check_wake_cv(g, s, *lim.max_wake_latency_cv, out);
    v.stats.push_back(s);
  }
  v.findings = std::move(out).ordered();
  for (const auto& f : v.findings) v.passed = v.passed && !f.failed;
  v.summary = summarize(v, reports.size());
  return v;
}

}  // namespace ktstr::check
