#include "scenario/model.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace ktstr::scenario {

namespace {

constexpr std::array<std::string_view, std::variant_size_v<Op>> kOpNames = {
    "add-cgroup", "remove-cgroup", "set-cpuset",     "clear-cpuset", "swap-cpusets",
    "spawn",      "stop-cgroup",   "set-affinity",   "spawn-host",   "move-all-tasks",
    "run-payload", "wait-payload", "kill-payload",   "snapshot",     "freeze-worker",
    "watch-snapshot", "kernel-read", "kernel-write",
};

constexpr std::array<std::string_view, 4> kKernelTargets = {"symbol", "kva", "percpu", "task"};

constexpr std::array<Category, 8> kCategories = {
    Category::kBasic,  Category::kCpuset,      Category::kDynamic,  Category::kStress,
    Category::kInteraction, Category::kAffinity, Category::kNested, Category::kPerformance,
};
constexpr std::array<std::string_view, 8> kCategoryNames = {
    "basic", "cpuset", "dynamic", "stress", "interaction", "affinity", "nested", "performance",
};

// The same list as check::known_threshold_keys() (the guest does not link
// the check module; tests/unit/runner keeps the two equal).
constexpr std::array<std::string_view, 18> kThresholdKeys = {
    "starvation",          "max_spread_pct",
    "max_gap_ms",          "isolation",
    "max_throughput_cv",   "min_work_rate",
    "max_p99_wake_latency_us", "max_wake_latency_cv",
    "min_iteration_rate",  "max_migration_ratio",
    "min_numa_locality",   "monitor_warmup_samples",
    "monitor_sustain_samples", "monitor_max_imbalance_ratio",
    "monitor_max_local_dsq_depth", "monitor_stall",
    "monitor_max_fallback_rate", "monitor_max_keep_last_rate",
};

constexpr uint32_t kMaxOverrideWorkers = 4096;
constexpr double kMaxDurationS = 86400;

template <typename F>
void for_each_cgroup(std::vector<CgroupDef>& defs, const F& f) {
  for (auto& d : defs) {
    f(d);
    for_each_cgroup(d.children, f);
  }
}

// Applies f to every CgroupDef of the scenario (backdrop and add-cgroup ops).
template <typename F>
void for_each_cgroup(Scenario& s, const F& f) {
  for_each_cgroup(s.backdrop, f);
  for (auto& step : s.steps)
    for (auto& op : step.ops)
      if (auto* add = std::get_if<ops::AddCgroup>(&op)) {
        f(add->cgroup);
        for_each_cgroup(add->cgroup.children, f);
      }
}

std::string plural(uint64_t n, std::string_view what) {
  return std::to_string(n) + " " + std::string(what) + (n == 1 ? "" : "s");
}

}  // namespace

std::string_view CgroupDef::leaf_name() const {
  auto slash = name.rfind('/');
  return slash == std::string::npos ? std::string_view(name)
                                    : std::string_view(name).substr(slash + 1);
}

std::string_view op_name(const Op& op) { return kOpNames[op.index()]; }
std::span<const std::string_view> op_names() { return kOpNames; }

uint64_t Hold::resolve_ms(uint64_t scenario_ms) const {
  if (kind == Kind::kDuration || (kind == Kind::kLoop && duration_ms != 0)) return duration_ms;
  return static_cast<uint64_t>(std::llround(fraction * static_cast<double>(scenario_ms)));
}

std::string_view to_string(KernelOpSpec::Target t) { return kKernelTargets[static_cast<size_t>(t)]; }

Result<KernelOpSpec::Target> parse_kernel_target(std::string_view name) {
  for (size_t i = 0; i < kKernelTargets.size(); ++i)
    if (kKernelTargets[i] == name) return static_cast<KernelOpSpec::Target>(i);
  return invalid_argument("'" + std::string(name) +
                          "' is not a target; use symbol, kva, percpu or task");
}

AssertionContext assertion_context(const Scenario& s) {
  AssertionContext ctx;
  ctx.periodic_snapshots = s.snapshots;
  for (const auto& step : s.steps)
    for (const auto& op : step.ops) {
      if (const auto* snap = std::get_if<ops::Snapshot>(&op)) ctx.snapshot_names.push_back(snap->name);
      if (const auto* watch = std::get_if<ops::WatchSnapshot>(&op))
        ctx.watched_symbols.push_back(watch->symbol);
    }
  return ctx;
}

std::string_view to_string(Category c) { return kCategoryNames[static_cast<size_t>(c)]; }

Result<Category> parse_category(std::string_view name) {
  for (size_t i = 0; i < kCategories.size(); ++i)
    if (kCategoryNames[i] == name) return kCategories[i];
  std::string all;
  for (auto n : kCategoryNames) all += (all.empty() ? "" : ", ") + std::string(n);
  return invalid_argument("'" + std::string(name) + "' is not a category; use one of " + all);
}

std::span<const Category> all_categories() { return kCategories; }

std::optional<std::string> Requirements::unmet_by(const topo::Topology& topo) const {
  const std::string shape = topo.to_string();
  if (topo.num_cpus() < min_cpus)
    return "needs " + plural(min_cpus, "CPU") + "; topology " + shape + " has " +
           std::to_string(topo.num_cpus());
  if (topo.llcs < min_llcs)
    return "needs " + plural(min_llcs, "LLC") + "; topology " + shape + " has " +
           std::to_string(topo.llcs);
  if (topo.numa_nodes < min_numa_nodes)
    return "needs " + plural(min_numa_nodes, "NUMA node") + "; topology " + shape + " has " +
           std::to_string(topo.numa_nodes);
  if (smt && topo.threads_per_core < 2)
    return "needs SMT (2+ threads per core); topology " + shape + " has 1";
  return std::nullopt;
}

std::span<const std::string_view> known_threshold_keys() { return kThresholdKeys; }

bool is_known_threshold(std::string_view key) {
  return std::find(kThresholdKeys.begin(), kThresholdKeys.end(), key) != kThresholdKeys.end();
}

// ---- equality -----------------------------------------------------------------

bool same_work(const workload::WorkSpec& a, const workload::WorkSpec& b) {
  auto phases_equal = [](const auto& x, const auto& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end(), [](const auto& p, const auto& q) {
      return p.kind == q.kind && p.duration_ms == q.duration_ms;
    });
  };
  return a.type == b.type && a.spin_iters == b.spin_iters && a.io_bytes == b.io_bytes &&
         a.sleep_us == b.sleep_us && a.burst_ms == b.burst_ms && a.sleep_ms == b.sleep_ms &&
         a.iters == b.iters && a.buffer_kib == b.buffer_kib && a.stride == b.stride &&
         a.fan_out == b.fan_out && a.ops == b.ops && a.region_kib == b.region_kib &&
         a.contenders == b.contenders && phases_equal(a.phases, b.phases);
}

bool same_cpuset(const topo::CpusetSpec& a, const topo::CpusetSpec& b) {
  using K = topo::CpusetSpec::Kind;
  if (a.kind != b.kind) return false;
  switch (a.kind) {
    case K::kLlc:
    case K::kNuma: return a.index == b.index;
    case K::kRange: return a.first == b.first && a.last == b.last;
    case K::kFractionRange: return a.from == b.from && a.to == b.to;
    case K::kDisjoint: return a.index == b.index && a.parts == b.parts;
    case K::kOverlap: return a.index == b.index && a.parts == b.parts && a.pct == b.pct;
    case K::kExact: return a.cpus == b.cpus;
  }
  return false;
}

bool operator==(const CgroupDef& a, const CgroupDef& b) {
  bool cpusets = a.cpuset.has_value() == b.cpuset.has_value() &&
                 (!a.cpuset || same_cpuset(*a.cpuset, *b.cpuset));
  return a.name == b.name && a.workers == b.workers && same_work(a.work, b.work) && cpusets &&
         a.affinity == b.affinity && a.policy == b.policy && a.nice == b.nice &&
         a.mempolicy == b.mempolicy && a.children == b.children;
}

namespace ops {
bool operator==(const AddCgroup& a, const AddCgroup& b) { return a.cgroup == b.cgroup; }
bool operator==(const SetCpuset& a, const SetCpuset& b) {
  return a.cgroup == b.cgroup && same_cpuset(a.cpuset, b.cpuset);
}
bool operator==(const Spawn& a, const Spawn& b) {
  bool works = a.work.has_value() == b.work.has_value() && (!a.work || same_work(*a.work, *b.work));
  return a.cgroup == b.cgroup && a.count == b.count && works;
}
bool operator==(const SpawnHost& a, const SpawnHost& b) {
  return a.count == b.count && same_work(a.work, b.work);
}
}  // namespace ops

bool operator==(const Scenario& a, const Scenario& b) {
  return a.name == b.name && a.category == b.category && a.description == b.description &&
         a.duration_ms == b.duration_ms && a.requirements == b.requirements &&
         a.thresholds == b.thresholds && a.backdrop == b.backdrop && a.steps == b.steps &&
         a.snapshots == b.snapshots && a.asserts == b.asserts;
}

// ---- overrides ----------------------------------------------------------------

Result<Scenario> Scenario::with_workers(uint32_t n) const {
  if (n == 0 || n > kMaxOverrideWorkers)
    return invalid_argument("--workers " + std::to_string(n) + " is out of range; use 1.." +
                            std::to_string(kMaxOverrideWorkers));
  Scenario s = *this;
  for_each_cgroup(s, [n](CgroupDef& d) {
    bool runs_workers = d.children.empty() &&
                        !(d.workers.kind == WorkerCount::Kind::kFixed && d.workers.count == 0);
    if (runs_workers) d.workers = WorkerCount::fixed(n);
  });
  return s;
}

Scenario Scenario::with_work_type(workload::WorkType type) const {
  Scenario s = *this;
  for_each_cgroup(s, [type](CgroupDef& d) { d.work = workload::default_spec(type); });
  for (auto& step : s.steps)
    for (auto& op : step.ops)
      if (auto* spawn = std::get_if<ops::Spawn>(&op); spawn && spawn->work)
        spawn->work = workload::default_spec(type);
  return s;
}

Result<Scenario> Scenario::with_duration_s(double seconds) const {
  if (!std::isfinite(seconds) || seconds < 0.001 || seconds > kMaxDurationS)
    return invalid_argument("--duration " + std::to_string(seconds) +
                            " is out of range; use 0.001 to 86400 seconds");
  Scenario s = *this;
  s.duration_ms = static_cast<uint32_t>(std::llround(seconds * 1000));
  return s;
}

// ---- names --------------------------------------------------------------------

Status check_name(std::string_view name, std::string_view what) {
  constexpr size_t kMaxName = 64;
  const std::string w(what);
  if (name.empty()) return invalid_argument(w + " is empty; use letters, digits, '_', '.' or '-'");
  if (name.size() > kMaxName)
    return invalid_argument(w + " '" + std::string(name.substr(0, 20)) + "...' is " +
                            std::to_string(name.size()) + " characters long; use at most " +
                            std::to_string(kMaxName));
  if (name == "." || name == "..")
    return invalid_argument(w + " '" + std::string(name) + "' is reserved; pick another name");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok)
      return invalid_argument(w + " '" + std::string(name) +
                              "' has a character outside [A-Za-z0-9_.-]; use e.g. cg_0");
  }
  return {};
}

}  // namespace ktstr::scenario
