#include "scenario/engine.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <memory>
#include <random>
#include <thread>

#include "cgroup/tree.h"
#include "scenario/host_ops.h"
#include "topology/cpuset_spec.h"
#include "util/subprocess.h"
#include "workload/knobs.h"
#include "workload/worker.h"

namespace ktstr::scenario {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Poll slice of holds: how quickly freezes end and should_stop is seen.
constexpr milliseconds kTick{20};

struct CgroupState {
  CgroupDef def;
  cgroup::Cgroup* cg = nullptr;
  std::optional<topo::CpuSet> cpuset;  // configured now; nullopt = inherit
  topo::CpuSet ever;                   // union of every cpuset it had
  bool ever_unconfined = false;
  std::vector<std::unique_ptr<workload::WorkerSet>> sets;
  uint32_t workers = 0;
};

struct Freeze {
  workload::WorkerSet* set;
  size_t index;
  Clock::time_point until;
};

class Engine {
 public:
  Engine(const Scenario& s, const EngineConfig& cfg, const EngineEvents& ev)
      : s_(s), cfg_(cfg), ev_(ev) {}

  Result<ScenarioRun> run();

 private:
  // ---- ops ----
  Status apply(const Op& op);
  Status add_cgroup(const CgroupDef& def);
  Status spawn(CgroupState& st, uint32_t count, const workload::WorkSpec& work);
  Status set_cpuset(CgroupState& st, std::optional<topo::CpuSet> cpus);
  Status stop_cgroup(CgroupState& st);
  Status remove_cgroup(const std::string& name);
  Status run_payload(const ops::RunPayload& p);
  Status wait_payload(const ops::WaitPayload& p);
  void host_op(const Op& op);
  Result<CgroupState*> state(const std::string& name);

  // ---- helpers ----
  topo::CpuSet allowed(const CgroupState& st) const;
  std::vector<std::vector<uint32_t>> affinity_lists(const CgroupState& st, const Affinity& a,
                                                    uint32_t first, uint32_t count);
  void hold(uint64_t ms, const Step* loop_step, uint32_t interval_ms);
  void service_freezes(bool thaw_all);
  bool stop_requested() const { return cfg_.should_stop && cfg_.should_stop(); }
  StepEvent snapshot_event(uint32_t index, uint32_t ops) const;
  uint64_t elapsed_ms() const;
  void note(std::string line);
  void fail(std::string line);
  void collect(ScenarioRun& run);

  const Scenario& s_;
  const EngineConfig& cfg_;
  const EngineEvents& ev_;
  cgroup::CgroupTree tree_;
  std::map<std::string, CgroupState> cgroups_;
  std::vector<std::unique_ptr<workload::WorkerSet>> host_sets_;
  std::map<std::string, Child> payloads_;
  std::vector<Freeze> freezes_;
  std::vector<std::string> errors_, notes_;
  std::vector<workload::WorkerReport> finished_reports_;  // from removed cgroups
  std::vector<CgroupRecord> removed_records_;
  uint32_t step_ = 0;  // step index in force, for host request records
  std::vector<HostRequest> host_requests_;
  uint64_t host_requests_dropped_ = 0;
  uint32_t host_failures_ = 0;
  std::set<std::string> host_ops_skipped_;  // noted once per op kind
  Clock::time_point t0_;
  std::mt19937 rng_{0x6b747374};  // fixed seed: the same scenario picks the same CPUs
};

uint64_t Engine::elapsed_ms() const {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t0_).count();
}

void Engine::note(std::string line) {
  if (ev_.log) ev_.log(line);
  notes_.push_back(std::move(line));
}

void Engine::fail(std::string line) {
  if (ev_.log) ev_.log(line);
  errors_.push_back(std::move(line));
}

topo::CpuSet Engine::allowed(const CgroupState& st) const {
  if (st.cpuset && !st.cpuset->empty()) return *st.cpuset;
  // Nested: a child without its own cpuset inherits its parent's.
  auto slash = st.def.name.rfind('/');
  if (slash != std::string::npos) {
    auto parent = cgroups_.find(st.def.name.substr(0, slash));
    if (parent != cgroups_.end()) return allowed(parent->second);
  }
  return cfg_.topology.all_cpus();
}

std::vector<std::vector<uint32_t>> Engine::affinity_lists(const CgroupState& st,
                                                          const Affinity& a, uint32_t first,
                                                          uint32_t count) {
  std::vector<std::vector<uint32_t>> out;
  auto cpus = allowed(st).to_vector();
  if (cpus.empty()) return out;
  switch (a.kind) {
    case Affinity::Kind::kInherit:
      return out;
    case Affinity::Kind::kExact:
      out.push_back(a.cpus.to_vector());
      return out;
    case Affinity::Kind::kSingleCpu:
      for (uint32_t i = 0; i < count; ++i) out.push_back({cpus[(first + i) % cpus.size()]});
      return out;
    case Affinity::Kind::kRandomSubset: {
      size_t size = a.size ? std::min<size_t>(a.size, cpus.size()) : std::max<size_t>(1, cpus.size() / 2);
      for (uint32_t i = 0; i < count; ++i) {
        auto pick = cpus;
        std::shuffle(pick.begin(), pick.end(), rng_);
        pick.resize(size);
        std::sort(pick.begin(), pick.end());
        out.push_back(pick);
      }
      return out;
    }
    case Affinity::Kind::kLlcAligned: {
      // LLCs that hold an allowed CPU; workers go round-robin over them.
      std::vector<std::vector<uint32_t>> llcs;
      auto allow = allowed(st);
      for (uint32_t l = 0; l < cfg_.topology.llcs; ++l) {
        auto in = (cfg_.topology.llc_cpus(l) & allow).to_vector();
        if (!in.empty()) llcs.push_back(in);
      }
      for (uint32_t i = 0; i < count; ++i) out.push_back(llcs[(first + i) % llcs.size()]);
      return out;
    }
    case Affinity::Kind::kCrossCgroup: {
      // Straddle: own CPUs plus the next CPUs outside the cgroup's set.
      auto all = cfg_.topology.all_cpus().to_vector();
      auto own = allowed(st);
      for (uint32_t i = 0; i < count; ++i) {
        auto mask = cpus;
        for (auto c : all)
          if (!own.contains(c)) {
            mask.push_back(c);
            break;
          }
        std::sort(mask.begin(), mask.end());
        out.push_back(mask);
      }
      return out;
    }
  }
  return out;
}

Result<CgroupState*> Engine::state(const std::string& name) {
  auto it = cgroups_.find(name);
  if (it == cgroups_.end()) return not_found("cgroup '" + name + "' does not exist (yet)");
  return &it->second;
}

Status Engine::spawn(CgroupState& st, uint32_t count, const workload::WorkSpec& work) {
  if (count == 0) return {};
  workload::WorkerOptions o;
  o.cgroup = st.def.name;
  o.spec = work;
  o.count = count;
  o.first_index = st.workers;
  o.affinity = affinity_lists(st, st.def.affinity, st.workers, count);
  o.nice = st.def.nice;
  o.policy = st.def.policy;
  o.mempolicy = st.def.mempolicy;
  o.io_dir = cfg_.scratch_dir.string();
  cgroup::Cgroup* cg = st.cg;
  o.place = [cg](pid_t pid) { return cg->move_task(pid); };
  KTSTR_ASSIGN(auto set, workload::WorkerSet::spawn(o), "spawning workers in " + st.def.name);
  for (auto& n : set.notes()) note(st.def.name + ": " + n);
  KTSTR_TRY(set.start(), "starting workers in " + st.def.name);
  st.workers += static_cast<uint32_t>(set.size());
  st.sets.push_back(std::make_unique<workload::WorkerSet>(std::move(set)));
  return {};
}

Status Engine::set_cpuset(CgroupState& st, std::optional<topo::CpuSet> cpus) {
  if (cpus) {
    KTSTR_TRY(st.cg->set_cpuset(*cpus), st.def.name);
    st.ever |= *cpus;
  } else {
    KTSTR_TRY(st.cg->clear_cpuset(), st.def.name);
    st.ever_unconfined = true;
  }
  st.cpuset = std::move(cpus);
  return {};
}

Status Engine::add_cgroup(const CgroupDef& def) {
  if (cgroups_.count(def.name)) return invalid_argument("cgroup '" + def.name + "' already exists");
  KTSTR_ASSIGN(cgroup::Cgroup * cg, tree_.add(def.name));
  CgroupState& st = cgroups_[def.name];
  st.def = def;
  st.def.children.clear();
  st.cg = cg;
  if (def.cpuset) {
    KTSTR_ASSIGN(auto cpus, def.cpuset->resolve(cfg_.topology), def.name + ": cpuset");
    KTSTR_TRY(set_cpuset(st, cpus));
  } else {
    st.ever_unconfined = true;
  }
  for (auto& child : def.children) KTSTR_TRY(add_cgroup(child));
  // cgroup v2: only leaves run tasks once controllers are enabled below.
  if (def.children.empty()) {
    uint32_t n = def.workers.resolve(cfg_.topology, allowed(st));
    KTSTR_TRY(spawn(st, n, def.work));
  }
  return {};
}

Status Engine::stop_cgroup(CgroupState& st) {
  for (auto& f : freezes_)
    for (auto& set : st.sets)
      if (f.set == set.get()) f.set = nullptr;
  for (auto& set : st.sets) {
    (void)set->stop();
    for (auto& r : set->reports()) finished_reports_.push_back(r);
  }
  st.sets.clear();
  return {};
}

Status Engine::remove_cgroup(const std::string& name) {
  KTSTR_ASSIGN(CgroupState * st, state(name));
  // Children go first (their names extend ours with '/').
  std::vector<std::string> doomed;
  for (auto& [n, s] : cgroups_)
    if (n == name || n.rfind(name + "/", 0) == 0) doomed.push_back(n);
  std::sort(doomed.rbegin(), doomed.rend());
  for (auto& n : doomed) {
    auto& s = cgroups_.at(n);
    KTSTR_TRY(stop_cgroup(s));
    removed_records_.push_back({n, s.ever_unconfined ? "" : s.ever.to_list(), {}, s.workers});
  }
  (void)st;
  KTSTR_TRY(tree_.remove(name), "removing " + name);
  for (auto& n : doomed) cgroups_.erase(n);
  return {};
}

Status Engine::run_payload(const ops::RunPayload& p) {
  if (payloads_.count(p.name)) return invalid_argument("payload '" + p.name + "' is already running");
  SpawnOptions opts;
  opts.devnull_stdin = true;
  KTSTR_ASSIGN(Child c, Child::spawn(p.argv, opts), "payload " + p.name);
  if (p.cgroup) {
    KTSTR_ASSIGN(CgroupState * st, state(*p.cgroup));
    KTSTR_TRY(st->cg->move_task(c.pid()), "payload " + p.name);
  }
  payloads_.emplace(p.name, std::move(c));
  return {};
}

Status Engine::wait_payload(const ops::WaitPayload& p) {
  auto it = payloads_.find(p.name);
  if (it == payloads_.end()) return not_found("payload '" + p.name + "' was never started");
  auto timeout = milliseconds(p.timeout_ms ? p.timeout_ms : 60000);
  KTSTR_ASSIGN(auto st, it->second.wait_for(timeout), "payload " + p.name);
  note("payload " + p.name + " ended: " + st.describe());
  if (!st.success()) fail("payload " + p.name + " failed: " + st.describe());
  payloads_.erase(it);
  return {};
}

// A host error is data for the host's asserts, not a failed run.
void Engine::host_op(const Op& op) {
  auto rec = run_host_op(op, cfg_, step_);
  if (!rec) {
    if (host_ops_skipped_.insert(std::string(op_name(op))).second)
      note(describe_host_op(op) + ": needs a VM (host monitor); skipped" +
           " (and every later " + std::string(op_name(op)) + " op)");
    return;
  }
  // Loops can fail the same way thousands of times: note the first few.
  constexpr uint32_t kNotedFailures = 20;
  if (!rec->ok && ++host_failures_ <= kNotedFailures)
    note(describe_host_op(op) + " failed: " + rec->error +
         (host_failures_ == kNotedFailures ? " (further host failures: see host_requests)" : ""));
  if (host_requests_.size() < kMaxHostRequests)
    host_requests_.push_back(std::move(*rec));
  else
    ++host_requests_dropped_;
}

Status Engine::apply(const Op& op) {
  return std::visit(
      [&](const auto& o) -> Status {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, ops::AddCgroup>) {
          return add_cgroup(o.cgroup);
        } else if constexpr (std::is_same_v<T, ops::RemoveCgroup>) {
          return remove_cgroup(o.cgroup);
        } else if constexpr (std::is_same_v<T, ops::SetCpuset>) {
          KTSTR_ASSIGN(CgroupState * st, state(o.cgroup));
          KTSTR_ASSIGN(auto cpus, o.cpuset.resolve(cfg_.topology), o.cgroup + ": cpuset");
          return set_cpuset(*st, cpus);
        } else if constexpr (std::is_same_v<T, ops::ClearCpuset>) {
          KTSTR_ASSIGN(CgroupState * st, state(o.cgroup));
          return set_cpuset(*st, std::nullopt);
        } else if constexpr (std::is_same_v<T, ops::SwapCpusets>) {
          KTSTR_ASSIGN(CgroupState * a, state(o.a));
          KTSTR_ASSIGN(CgroupState * b, state(o.b));
          KTSTR_TRY(tree_.swap_cpusets(o.a, o.b));
          std::swap(a->cpuset, b->cpuset);
          for (CgroupState* st : {a, b}) {
            if (st->cpuset) st->ever |= *st->cpuset;
            else st->ever_unconfined = true;
          }
          return {};
        } else if constexpr (std::is_same_v<T, ops::Spawn>) {
          KTSTR_ASSIGN(CgroupState * st, state(o.cgroup));
          return spawn(*st, o.count.resolve(cfg_.topology, allowed(*st)), o.work.value_or(st->def.work));
        } else if constexpr (std::is_same_v<T, ops::StopCgroup>) {
          KTSTR_ASSIGN(CgroupState * st, state(o.cgroup));
          return stop_cgroup(*st);
        } else if constexpr (std::is_same_v<T, ops::SetAffinity>) {
          KTSTR_ASSIGN(CgroupState * st, state(o.cgroup));
          st->def.affinity = o.affinity;
          uint32_t first = 0;
          for (auto& set : st->sets) {
            auto lists = affinity_lists(*st, o.affinity, first, static_cast<uint32_t>(set->size()));
            auto pids = set->pids();
            for (size_t i = 0; i < pids.size(); ++i) {
              auto cpus = lists.empty() ? allowed(*st).to_vector() : lists[i % lists.size()];
              KTSTR_TRY(workload::apply_affinity(pids[i], cpus), o.cgroup + ": set-affinity");
            }
            first += static_cast<uint32_t>(set->size());
          }
          return {};
        } else if constexpr (std::is_same_v<T, ops::SpawnHost>) {
          workload::WorkerOptions w;
          w.spec = o.work;
          w.count = o.count.resolve(cfg_.topology, cfg_.topology.all_cpus());
          w.first_index = 0;
          for (auto& s : host_sets_) w.first_index += static_cast<uint32_t>(s->size());
          w.io_dir = cfg_.scratch_dir.string();
          KTSTR_ASSIGN(auto set, workload::WorkerSet::spawn(w), "spawn-host");
          KTSTR_TRY(set.start(), "spawn-host");
          host_sets_.push_back(std::make_unique<workload::WorkerSet>(std::move(set)));
          return {};
        } else if constexpr (std::is_same_v<T, ops::MoveAllTasks>) {
          KTSTR_ASSIGN(CgroupState * from, state(o.from));
          KTSTR_ASSIGN(CgroupState * to, state(o.to));
          KTSTR_TRY(from->cg->move_all_tasks_to(*to->cg), "move-all-tasks");
          // The workers keep reporting under their original cgroup name, but
          // now run where `to` allows: widen `from`'s record for isolation.
          if (to->ever_unconfined) from->ever_unconfined = true;
          else from->ever |= to->ever;
          return {};
        } else if constexpr (std::is_same_v<T, ops::RunPayload>) {
          return run_payload(o);
        } else if constexpr (std::is_same_v<T, ops::WaitPayload>) {
          return wait_payload(o);
        } else if constexpr (std::is_same_v<T, ops::KillPayload>) {
          auto it = payloads_.find(o.name);
          if (it == payloads_.end()) return not_found("payload '" + o.name + "' was never started");
          note("payload " + o.name + " killed: " + it->second.terminate().describe());
          payloads_.erase(it);
          return {};
        } else if constexpr (std::is_same_v<T, ops::Snapshot> || std::is_same_v<T, ops::WatchSnapshot> ||
                             std::is_same_v<T, ops::KernelRead> || std::is_same_v<T, ops::KernelWrite>) {
          host_op(op);
          return {};
        } else if constexpr (std::is_same_v<T, ops::FreezeWorker>) {
          KTSTR_ASSIGN(CgroupState * st, state(o.cgroup));
          size_t idx = o.worker;
          for (auto& set : st->sets) {
            if (idx < set->size()) {
              KTSTR_TRY(set->freeze_worker(idx), "freeze-worker");
              freezes_.push_back({set.get(), idx, Clock::now() + milliseconds(o.duration_ms)});
              note(o.cgroup + ": worker " + std::to_string(o.worker) + " frozen for " +
                   std::to_string(o.duration_ms) + " ms (test op)");
              return {};
            }
            idx -= set->size();
          }
          return invalid_argument(o.cgroup + " has no worker " + std::to_string(o.worker));
        }
      },
      op);
}

void Engine::service_freezes(bool thaw_all) {
  auto now = Clock::now();
  for (auto& f : freezes_)
    if (f.set && (thaw_all || now >= f.until)) {
      (void)f.set->thaw_worker(f.index);
      f.set = nullptr;
    }
  std::erase_if(freezes_, [](const Freeze& f) { return f.set == nullptr; });
}

void Engine::hold(uint64_t ms, const Step* loop_step, uint32_t interval_ms) {
  auto end = Clock::now() + milliseconds(ms);
  auto next_loop = Clock::now() + milliseconds(interval_ms);
  while (Clock::now() < end && !stop_requested()) {
    service_freezes(false);
    if (loop_step && interval_ms && Clock::now() >= next_loop) {
      for (auto& op : loop_step->ops)
        if (auto st = apply(op); !st.ok()) fail("loop op " + std::string(op_name(op)) + ": " + st.error().message());
      next_loop += milliseconds(interval_ms);
    }
    auto left = end - Clock::now();
    std::this_thread::sleep_for(std::min<Clock::duration>(kTick, std::max<Clock::duration>(left, Clock::duration(0))));
  }
}

StepEvent Engine::snapshot_event(uint32_t index, uint32_t ops) const {
  StepEvent e;
  e.step_index = index;
  e.op_count = ops;
  e.cgroup_count = static_cast<uint32_t>(cgroups_.size());
  auto count = [&](const std::vector<std::unique_ptr<workload::WorkerSet>>& sets) {
    for (auto& set : sets) {
      e.worker_count += static_cast<uint32_t>(set->size());
      for (auto& p : set->progress()) e.total_iterations += p.iterations;
    }
  };
  for (auto& [n, st] : cgroups_) count(st.sets);
  count(host_sets_);
  e.at_ms = elapsed_ms();
  return e;
}

void Engine::collect(ScenarioRun& run) {
  service_freezes(true);
  // Every worker stops at the same moment; then each set is collected.
  for (auto& [name, st] : cgroups_)
    for (auto& set : st.sets) set->signal_stop();
  for (auto& set : host_sets_) set->signal_stop();
  for (auto& [name, st] : cgroups_) {
    (void)stop_cgroup(st);
    CgroupRecord rec{name, st.ever_unconfined ? "" : st.ever.to_list(), {}, st.workers};
    for (auto n : st.def.mempolicy.nodes) rec.numa_nodes.push_back(n);
    run.cgroups.push_back(std::move(rec));
  }
  for (auto& set : host_sets_) {
    (void)set->stop();
    for (auto& r : set->reports()) finished_reports_.push_back(r);
  }
  for (auto& [name, child] : payloads_) note("payload " + name + " still running at the end: " + child.terminate().describe());
  payloads_.clear();
  for (auto& r : removed_records_) run.cgroups.push_back(r);
  run.reports = std::move(finished_reports_);
}

Result<ScenarioRun> Engine::run() {
  ScenarioRun run;
  run.scenario = s_.name;
  run.duration_ms = s_.duration_ms;
  if (auto why = s_.requirements.unmet_by(cfg_.topology)) {
    run.skipped = true;
    run.skip_reason = *why;
    return run;
  }
  KTSTR_TRY(check_topology(s_, cfg_.topology), s_.name);
  KTSTR_ASSIGN(tree_, cgroup::CgroupTree::create(cfg_.cgroup_mount), "creating the scenario's cgroups");

  t0_ = Clock::now();
  if (ev_.on_start) ev_.on_start(s_.name, s_.duration_ms);
  for (auto& def : s_.backdrop)
    if (auto st = add_cgroup(def); !st.ok()) fail("backdrop " + def.name + ": " + st.error().message());
  auto baseline = snapshot_event(0, 0);
  run.steps.push_back(baseline);
  if (ev_.on_step) ev_.on_step(baseline);
  if (s_.steps.empty()) hold(s_.duration_ms, nullptr, 0);

  for (size_t i = 0; i < s_.steps.size() && !stop_requested(); ++i) {
    const Step& step = s_.steps[i];
    step_ = static_cast<uint32_t>(i + 1);
    // STIMULUS goes out as the step begins, before its ops: the host stamps
    // snapshots and samples taken during the ops with this step's index.
    if (ev_.on_step) ev_.on_step(snapshot_event(step_, static_cast<uint32_t>(step.ops.size())));
    for (size_t k = 0; k < step.ops.size(); ++k)
      if (auto st = apply(step.ops[k]); !st.ok())
        fail("step " + std::to_string(i + 1) + " op " + std::to_string(k + 1) + " (" +
             std::string(op_name(step.ops[k])) + "): " + st.error().message());
    run.steps.push_back(snapshot_event(step_, static_cast<uint32_t>(step.ops.size())));
    bool loop = step.hold.kind == Hold::Kind::kLoop;
    hold(step.hold.resolve_ms(s_.duration_ms), loop ? &step : nullptr, loop ? step.hold.interval_ms : 0);
  }
  run.stopped_early = stop_requested();
  run.elapsed_ms = elapsed_ms();
  collect(run);
  if (ev_.on_end) ev_.on_end();
  run.errors = std::move(errors_);
  run.notes = std::move(notes_);
  run.host_requests = std::move(host_requests_);
  run.host_requests_dropped = host_requests_dropped_;
  auto destroyed = tree_.destroy();
  if (!destroyed.ok()) run.errors.push_back("removing cgroups: " + destroyed.error().message());
  return run;
}

}  // namespace

Result<ScenarioRun> run_scenario(const Scenario& s, const EngineConfig& config,
                                 const EngineEvents& events) {
  Engine engine(s, config, events);
  return engine.run();
}

// ---- wire form ----

nlohmann::json to_json(const ScenarioRun& run) {
  nlohmann::json j;
  j["scenario"] = run.scenario;
  j["skipped"] = run.skipped;
  j["skip_reason"] = run.skip_reason;
  j["stopped_early"] = run.stopped_early;
  j["duration_ms"] = run.duration_ms;
  j["elapsed_ms"] = run.elapsed_ms;
  auto& steps = j["steps"] = nlohmann::json::array();
  for (auto& e : run.steps)
    steps.push_back({{"step", e.step_index}, {"ops", e.op_count}, {"cgroups", e.cgroup_count},
                     {"workers", e.worker_count}, {"iterations", e.total_iterations}, {"at_ms", e.at_ms}});
  auto& cgs = j["cgroups"] = nlohmann::json::array();
  for (auto& c : run.cgroups)
    cgs.push_back({{"name", c.name}, {"cpus_allowed", c.cpus_allowed}, {"numa_nodes", c.numa_nodes},
                   {"workers", c.workers}});
  auto& reports = j["reports"] = nlohmann::json::array();
  for (auto r : run.reports) {
    if (r.wake_latency_ns.size() > kMaxWakeSamplesOnWire) {
      // Every k-th sample keeps the distribution's shape.
      std::vector<uint64_t> thin;
      size_t k = (r.wake_latency_ns.size() + kMaxWakeSamplesOnWire - 1) / kMaxWakeSamplesOnWire;
      for (size_t i = 0; i < r.wake_latency_ns.size(); i += k) thin.push_back(r.wake_latency_ns[i]);
      r.wake_latency_ns = std::move(thin);
    }
    reports.push_back(workload::to_json(r));
  }
  j["errors"] = run.errors;
  j["notes"] = run.notes;
  auto& requests = j["host_requests"] = nlohmann::json::array();
  for (auto& h : run.host_requests) {
    nlohmann::json e = {{"op", h.op}, {"tag", h.tag}, {"step", h.step}, {"ok", h.ok}};
    if (h.value) e["value"] = *h.value;
    if (!h.detail.empty()) e["detail"] = h.detail;
    if (!h.error.empty()) e["error"] = h.error;
    requests.push_back(std::move(e));
  }
  j["host_requests_dropped"] = run.host_requests_dropped;
  j["scheduler"] = run.scheduler;
  return j;
}

Result<ScenarioRun> scenario_run_from_json(const nlohmann::json& j) {
  try {
    ScenarioRun run;
    if (!j.is_object()) return protocol_error("scenario result is not a JSON object");
    run.scenario = j.value("scenario", "");
    run.skipped = j.value("skipped", false);
    run.skip_reason = j.value("skip_reason", "");
    run.stopped_early = j.value("stopped_early", false);
    run.duration_ms = j.value("duration_ms", uint64_t{0});
    run.elapsed_ms = j.value("elapsed_ms", uint64_t{0});
    for (auto& e : j.value("steps", nlohmann::json::array()))
      run.steps.push_back({e.value("step", 0u), e.value("ops", 0u), e.value("cgroups", 0u),
                           e.value("workers", 0u), e.value("iterations", uint64_t{0}),
                           e.value("at_ms", uint64_t{0})});
    for (auto& c : j.value("cgroups", nlohmann::json::array()))
      run.cgroups.push_back({c.value("name", ""), c.value("cpus_allowed", ""),
                             c.value("numa_nodes", std::vector<uint32_t>{}), c.value("workers", 0u)});
    for (auto& r : j.value("reports", nlohmann::json::array()))
      run.reports.push_back(workload::report_from_json(r));
    run.errors = j.value("errors", std::vector<std::string>{});
    run.notes = j.value("notes", std::vector<std::string>{});
    const auto requests = j.value("host_requests", nlohmann::json::array());
    if (!requests.is_array()) return protocol_error("scenario result: host_requests is not an array");
    for (auto& h : requests) {
      if (run.host_requests.size() >= kMaxHostRequests) {
        ++run.host_requests_dropped;
        continue;
      }
      HostRequest r{h.value("op", ""), h.value("tag", ""), h.value("step", 0u), h.value("ok", false)};
      if (h.contains("value")) r.value = h.at("value").get<uint64_t>();
      r.detail = h.value("detail", "");
      r.error = h.value("error", "");
      run.host_requests.push_back(std::move(r));
    }
    run.host_requests_dropped += j.value("host_requests_dropped", uint64_t{0});
    if (j.contains("scheduler") && j["scheduler"].is_object()) run.scheduler = j["scheduler"];
    return run;
  } catch (const nlohmann::json::exception& e) {
    return protocol_error(std::string("scenario result: ") + e.what());
  }
}

}  // namespace ktstr::scenario
