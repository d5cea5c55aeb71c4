#include "monitor/checks.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

namespace ktstr::monitor {

namespace {

constexpr double kStarvedExempt = 0.5;  // host_starved above this exempts an interval
constexpr uint32_t kTcgRoundsPerWindow = 3;
constexpr size_t kMaxCpusListed = 8;

// What one sample (or interval) says about a metric.
struct Observation {
  enum Kind { kNoData, kOk, kViolation } kind = kNoData;
  double value = 0;   // the metric's value when violating
  uint64_t t_ms = 0;  // when the violation began (interval checks: the earlier sample)
  uint32_t step = 0;
  uint32_t runnable = 0;  // stall: runnable tasks seen
  std::string detail;     // imbalance: which CPUs
};

// A run of consecutive violating observations.
struct Run {
  uint64_t start_t = 0;
  uint32_t start_step = 0;
  uint64_t last_t = 0;
  size_t count = 0;
  double peak = 0;
  uint32_t runnable = 0;
  std::string detail;  // of the peak
};

// Counts consecutive violations and keeps the first run that reached the
// window. Exempt observations never extend a run; an exempt one that shows
// no violation still ends it (the metric recovered); no data ends it (a
// failure must be backed by `window` observed violations in a row).
class SustainTracker {
 public:
  explicit SustainTracker(size_t window) : window_(window) {}

  void observe(const Observation& o, uint64_t t_ms, bool exempt) {
    if (o.kind == Observation::kViolation) {
      if (exempt) return;
      if (!cur_) cur_ = Run{.start_t = o.t_ms, .start_step = o.step};
      ++cur_->count;
      cur_->last_t = t_ms;
      cur_->runnable = std::max(cur_->runnable, o.runnable);
      if (cur_->count == 1 || o.value > cur_->peak) cur_->peak = o.value, cur_->detail = o.detail;
      return;
    }
    if (exempt && o.kind == Observation::kNoData) return;
    end();
  }
  // The first sustained run, if any (call after the last observation).
  const std::optional<Run>& failed() {
    end();
    return failed_;
  }

 private:
  void end() {
    if (cur_ && cur_->count >= window_ && !failed_) failed_ = cur_;
    cur_.reset();
  }
  size_t window_;
  std::optional<Run> cur_;
  std::optional<Run> failed_;
};

std::string num(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15)
    return fmt::format("{:.0f}", v);
  return fmt::format("{:.1f}", v);
}

std::string seconds(uint64_t t_ms) {
  return fmt::format("{:.1f} s", static_cast<double>(t_ms) / 1000);
}

std::string cpu_list(const std::vector<uint32_t>& cpus) {
  std::string s;
  for (size_t i = 0; i < cpus.size() && i < kMaxCpusListed; ++i)
    s += (i ? "," : "") + std::to_string(cpus[i]);
  if (cpus.size() > kMaxCpusListed) s += fmt::format(" (+{} more)", cpus.size() - kMaxCpusListed);
  return s;
}

const CpuSample* find_cpu(const Sample& s, uint32_t cpu) {
  if (cpu < s.cpus.size() && s.cpus[cpu].cpu == cpu) return &s.cpus[cpu];
  for (const auto& c : s.cpus)
    if (c.cpu == cpu) return &c;
  return nullptr;
}

std::optional<uint32_t> runnable(const CpuSample& c) {
  if (!c.nr_running && !c.scx_nr_running) return std::nullopt;
  return std::max(c.nr_running.value_or(0), c.scx_nr_running.value_or(0));
}

class Evaluator {
 public:
  Evaluator(const Timeline& t, const check::Limits& l, bool emulated)
      : t_(t), l_(l), emulated_(emulated) {}

  MonitorVerdict run() {
    const auto& samples = t_.samples;
    warmup_ = static_cast<size_t>(
        std::max(0.0, l_.monitor_warmup_samples.value_or(check::kDefaultMonitorWarmupSamples)));
    const size_t sustain = static_cast<size_t>(
        std::max(1.0, l_.monitor_sustain_samples.value_or(check::kDefaultMonitorSustainSamples)));
    for (const auto& s : samples) {
      ncpus_ = std::max(ncpus_, s.cpus.size());
      for (const auto& c : s.cpus) cpus_.insert(c.cpu);
    }
    window_ = sustain;
    if (emulated_) window_ = std::max(sustain, kTcgRoundsPerWindow * ncpus_);
    window_text_ = emulated_ && window_ > sustain
                       ? fmt::format("{} samples ({} × {} CPUs under TCG)", window_,
                                     kTcgRoundsPerWindow, ncpus_)
                       : fmt::format("{} samples", window_);

    if (samples.size() <= warmup_) {
      v_.notes.push_back(
          fmt::format("monitor: {} samples, not more than the warm-up of {}: "
                      "nothing judged",
                      samples.size(), warmup_));
      return std::move(v_);
    }
    v_.evaluated = true;
    size_t not_enabled = 0;
    for (size_t i = warmup_; i < samples.size(); ++i)
      if (!scx_enabled(samples[i])) ++not_enabled;
    if (not_enabled)
      v_.notes.push_back(fmt::format(
          "monitor: {} samples with sched_ext not enabled were not judged", not_enabled));

    check_imbalance();
    check_local_dsq();
    check_stall();
    check_rate("fallback_rate", "SELECT_CPU_FALLBACK", "monitor_max_fallback_rate",
               l_.monitor_max_fallback_rate);
    check_rate("keep_last_rate", "DISPATCH_KEEP_LAST", "monitor_max_keep_last_rate",
               l_.monitor_max_keep_last_rate);
    std::stable_sort(v_.failures.begin(), v_.failures.end(),
                     [](const auto& a, const auto& b) { return a.t_ms < b.t_ms; });
    return std::move(v_);
  }

 private:
  static bool scx_enabled(const Sample& s) {
    return !s.global.scx_state || *s.global.scx_state == "enabled";
  }
  static bool exempt(const Sample& s) { return s.paused || s.host_starved > kStarvedExempt; }

  // Feeds observe(i) for every judged sample i (interval checks: i >= 1).
  void sweep(SustainTracker& tr, bool intervals,
             const std::function<Observation(size_t)>& observe) {
    const auto& samples = t_.samples;
    for (size_t i = std::max(warmup_, size_t{intervals ? 1u : 0u}); i < samples.size(); ++i) {
      const Sample& s = samples[i];
      Observation o;
      if (scx_enabled(s) && (!intervals || scx_enabled(samples[i - 1]))) o = observe(i);
      if (!intervals) o.t_ms = s.t_ms, o.step = s.step;
      tr.observe(o, s.t_ms, exempt(s));
    }
  }

  // Per-sample runs span whole samples; interval runs start at a sample.
  uint64_t span_ms(const Run& r, bool intervals) const {
    return r.last_t - r.start_t + (intervals ? 0 : t_.interval_ms);
  }

  void off_note(const char* metric, const char* knob) {
    v_.notes.push_back(fmt::format("monitor: {} check off ({} = inf)", metric, knob));
  }
  void no_data_note(const char* metric, const std::string& why) {
    v_.notes.push_back(fmt::format("monitor: {} not checked: {}", metric, why));
  }

  bool any_judged(const std::function<bool(const Sample&)>& has) const {
    for (size_t i = warmup_; i < t_.samples.size(); ++i)
      if (has(t_.samples[i])) return true;
    return false;
  }

  void check_imbalance() {
    if (!l_.monitor_max_imbalance_ratio)
      return off_note("imbalance", "monitor_max_imbalance_ratio");
    const double limit = *l_.monitor_max_imbalance_ratio;
    SustainTracker tr(window_);
    bool seen = false;
    sweep(tr, false, [&](size_t i) {
      Observation o;
      std::optional<std::pair<uint32_t, uint32_t>> hi, lo;  // (nr_running, cpu)
      size_t n = 0;
      for (const auto& c : t_.samples[i].cpus) {
        if (!c.nr_running) continue;
        ++n;
        if (!hi || *c.nr_running > hi->first) hi = {*c.nr_running, c.cpu};
        if (!lo || *c.nr_running < lo->first) lo = {*c.nr_running, c.cpu};
      }
      if (n < 2) return o;
      seen = true;
      const double ratio = hi->first / std::max(1.0, static_cast<double>(lo->first));
      o.kind = ratio > limit ? Observation::kViolation : Observation::kOk;
      o.value = ratio;
      o.detail = fmt::format("cpu {} has {} runnable tasks, cpu {} has {}", hi->second, hi->first,
                             lo->second, lo->first);
      return o;
    });
    if (!seen) return no_data_note("imbalance", "nr_running of fewer than 2 CPUs in the samples");
    const auto& r = tr.failed();
    if (!r) return;
    MonitorFailure f{.metric = "imbalance",
                     .value = r->peak,
                     .limit = limit,
                     .t_ms = r->start_t,
                     .step = r->start_step};
    f.message = fmt::format(
        "monitor: imbalance {} ({}) for {} samples ({} ms), from {} (step {}); limit {}, "
        "sustained {}",
        num(r->peak), r->detail, r->count, span_ms(*r, false), seconds(r->start_t), r->start_step,
        num(limit), window_text_);
    v_.failures.push_back(std::move(f));
  }

  // Per-CPU runs merged into one failure: every CPU whose run was sustained,
  // the earliest start, the longest run, the peak value.
  struct Merged {
    std::vector<uint32_t> cpus;
    uint32_t first_cpu = 0;  // whose run began first
    uint64_t start_t = 0;
    uint32_t start_step = 0;
    size_t count = 0;
    uint64_t span = 0;  // ms
    double peak = 0;
    uint32_t runnable = 0;
  };
  std::optional<Merged> per_cpu(bool intervals,
                                const std::function<Observation(size_t, uint32_t)>& observe) {
    std::optional<Merged> m;
    for (uint32_t cpu : cpus_) {
      SustainTracker tr(window_);
      sweep(tr, intervals, [&](size_t i) { return observe(i, cpu); });
      const auto& r = tr.failed();
      if (!r) continue;
      if (!m)
        m = Merged{
            .first_cpu = cpu, .start_t = r->start_t, .start_step = r->start_step, .peak = r->peak};
      m->cpus.push_back(cpu);
      if (r->start_t < m->start_t)
        m->first_cpu = cpu, m->start_t = r->start_t, m->start_step = r->start_step;
      m->count = std::max(m->count, r->count);
      m->span = std::max(m->span, span_ms(*r, intervals));
      m->peak = std::max(m->peak, r->peak);
      m->runnable = std::max(m->runnable, r->runnable);
    }
    return m;
  }

  void check_local_dsq() {
    if (!l_.monitor_max_local_dsq_depth)
      return off_note("local DSQ depth", "monitor_max_local_dsq_depth");
    if (!any_judged([](const Sample& s) {
          return std::any_of(s.cpus.begin(), s.cpus.end(),
                             [](const CpuSample& c) { return c.local_dsq_depth.has_value(); });
        }))
      return no_data_note("local DSQ depth", "no rq.scx.local_dsq.nr in the samples");
    const double limit = *l_.monitor_max_local_dsq_depth;
    auto m = per_cpu(false, [&](size_t i, uint32_t cpu) {
      Observation o;
      const CpuSample* c = find_cpu(t_.samples[i], cpu);
      if (!c || !c->local_dsq_depth) return o;
      o.value = *c->local_dsq_depth;
      o.kind = o.value > limit ? Observation::kViolation : Observation::kOk;
      return o;
    });
    if (!m) return;
    MonitorFailure f{.metric = "local_dsq_depth",
                     .cpu = m->first_cpu,
                     .cpus = m->cpus,
                     .value = m->peak,
                     .limit = limit,
                     .t_ms = m->start_t,
                     .step = m->start_step};
    f.message = fmt::format(
        "monitor: local DSQ depth on cpu {}: up to {} tasks queued for {} samples ({} ms), from {} "
        "(step {}); limit {} tasks, sustained {}",
        cpu_list(m->cpus), num(m->peak), m->count, m->span, seconds(m->start_t), m->start_step,
        num(limit), window_text_);
    v_.failures.push_back(std::move(f));
  }

  void check_stall() {
    if (!l_.monitor_stall) {
      v_.notes.push_back("monitor: stall check off (monitor_stall = 0)");
      return;
    }
    if (!any_judged([](const Sample& s) {
          return std::any_of(s.cpus.begin(), s.cpus.end(), [](const CpuSample& c) {
            return c.rq_clock.has_value() && runnable(c).has_value();
          });
        }))
      return no_data_note("stall", "no rq clock with nr_running in the samples");
    auto m = per_cpu(true, [&](size_t i, uint32_t cpu) {
      Observation o;
      const Sample& before = t_.samples[i - 1];
      const CpuSample* a = find_cpu(before, cpu);
      const CpuSample* b = find_cpu(t_.samples[i], cpu);
      if (!a || !b || !a->rq_clock || !b->rq_clock) return o;
      const auto ra = runnable(*a), rb = runnable(*b);
      if (!ra || !rb || *b->rq_clock < *a->rq_clock) return o;  // a clock going back is garbage
      // Runnable tasks in both samples, and no progress: the rq clock stood
      // still, or the CPU sat in its idle task at both instants (a stalled
      // sched_ext CPU idles tickless; sporadic timer wake-ups move its clock
      // now and then, so the clock alone would miss it).
      const bool idle_both = a->curr_pid == 0u && b->curr_pid == 0u;
      const bool stuck = (*b->rq_clock == *a->rq_clock || idle_both) && *ra > 0 && *rb > 0;
      o.kind = stuck ? Observation::kViolation : Observation::kOk;
      o.t_ms = before.t_ms;
      o.step = before.step;
      o.runnable = std::min(*ra, *rb);
      o.value = 1;
      return o;
    });
    if (!m) return;
    MonitorFailure f{.metric = "stall",
                     .cpu = m->first_cpu,
                     .cpus = m->cpus,
                     .value = static_cast<double>(m->count),
                     .limit = static_cast<double>(window_),
                     .t_ms = m->start_t,
                     .step = m->start_step};
    f.message = fmt::format(
        "monitor: stall on cpu {}: no progress (rq clock stood still or the CPU idled) for {} "
        "samples ({} ms) with {} runnable task{}, from {} (step {}); limit {}",
        cpu_list(m->cpus), m->count, m->span, m->runnable, m->runnable == 1 ? "" : "s",
        seconds(m->start_t), m->start_step, window_text_);
    v_.failures.push_back(std::move(f));
  }

  void check_rate(const char* metric, const std::string& event, const char* knob,
                  const std::optional<double>& limit) {
    if (!limit) return off_note(metric, knob);
    if (!any_judged([&](const Sample& s) { return s.global.events.contains(event); }))
      return no_data_note(metric, fmt::format("no SCX_EV_{} counter in the samples", event));
    SustainTracker tr(window_);
    sweep(tr, true, [&](size_t i) {
      Observation o;
      const Sample& a = t_.samples[i - 1];
      const Sample& b = t_.samples[i];
      auto ea = a.global.events.find(event), eb = b.global.events.find(event);
      if (ea == a.global.events.end() || eb == b.global.events.end() || b.t_ms <= a.t_ms) return o;
      if (eb->second < ea->second) return o;  // counters restart with a new scheduler
      o.value = static_cast<double>(eb->second - ea->second) * 1000.0 /
                static_cast<double>(b.t_ms - a.t_ms);
      o.kind = o.value > *limit ? Observation::kViolation : Observation::kOk;
      o.t_ms = a.t_ms;
      o.step = a.step;
      return o;
    });
    const auto& r = tr.failed();
    if (!r) return;
    MonitorFailure f{.metric = metric,
                     .value = r->peak,
                     .limit = *limit,
                     .t_ms = r->start_t,
                     .step = r->start_step};
    f.message = fmt::format(
        "monitor: {} up to {}/s (SCX_EV_{}) for {} samples ({} ms), from {} (step {}); limit {}/s, "
        "sustained {}",
        std::string(metric) == "fallback_rate" ? "select_cpu fallback rate"
                                               : "dispatch keep-last rate",
        num(std::round(r->peak)), event, r->count, span_ms(*r, true), seconds(r->start_t),
        r->start_step, num(*limit), window_text_);
    // Events per host second measure the emulator under TCG (how often the
    // kernel passes through balance() depends on how vCPUs are interleaved
    // on one thread; scx_simple shows ~60000 keep-last/s there on a healthy
    // run): reported, never failing, like the worker checks' rates.
    if (emulated_) {
      v_.notes.push_back(f.message + " [emulated (TCG): rate advisory]");
      return;
    }
    v_.failures.push_back(std::move(f));
  }

  const Timeline& t_;
  const check::Limits& l_;
  bool emulated_;
  size_t warmup_ = 0;
  size_t window_ = 1;
  std::string window_text_;
  size_t ncpus_ = 0;
  std::set<uint32_t> cpus_;
  MonitorVerdict v_;
};

}  // namespace

MonitorVerdict evaluate(const Timeline& timeline, const check::Limits& limits, bool emulated) {
  return Evaluator(timeline, limits, emulated).run();
}

std::string MonitorVerdict::summary() const {
  if (!evaluated) {
    if (notes.empty()) return "monitor not evaluated";
    std::string why = notes.front();
    if (why.starts_with("monitor: ")) why.erase(0, 9);
    return "monitor not evaluated: " + why;
  }
  if (failures.empty()) return "monitor passed";
  std::string first = failures.front().message;
  if (first.starts_with("monitor: ")) first.erase(0, 9);
  if (failures.size() > 1) first += fmt::format(" (+{} more)", failures.size() - 1);
  return "monitor failed: " + first;
}

nlohmann::json to_json(const MonitorVerdict& v) {
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& f : v.failures)
    failures.push_back({{"metric", f.metric},
                        {"cpu", f.cpu ? nlohmann::json(*f.cpu) : nlohmann::json(nullptr)},
                        {"cpus", f.cpus},
                        {"value", f.value},
                        {"limit", f.limit},
                        {"t_ms", f.t_ms},
                        {"step", f.step},
                        {"message", f.message}});
  return {{"evaluated", v.evaluated},
          {"passed", v.passed()},
          {"summary", v.summary()},
          {"failures", failures},
          {"notes", v.notes}};
}

}  // namespace ktstr::monitor
