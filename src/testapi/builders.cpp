#include "testapi/builders.h"

namespace ktstr {

namespace {

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

// ---- CgroupDef --------------------------------------------------------------

CgroupDef::CgroupDef(std::string name) { def_.name = std::move(name); }

void CgroupDef::error(std::string_view field, const Error& e) {
  errors_.push_back("cgroup " + quoted(def_.name) + ": " + std::string(field) + ": " + e.message());
}

CgroupDef& CgroupDef::workers(uint32_t n) {
  def_.workers = scenario::WorkerCount::fixed(n);
  workers_set_ = true;
  return *this;
}

CgroupDef& CgroupDef::workers(std::string_view scaled) {
  auto c = scenario::WorkerCount::parse(scaled);
  if (c.ok()) {
    def_.workers = *c;
    workers_set_ = true;
  } else {
    error("workers", c.error());
  }
  return *this;
}

CgroupDef& CgroupDef::work(WorkType type) { return work(workload::default_spec(type)); }

CgroupDef& CgroupDef::work(const WorkSpec& spec) {
  if (auto st = workload::validate(spec); !st.ok()) error("work", st.error());
  def_.work = spec;
  return *this;
}

CgroupDef& CgroupDef::cpuset(std::string_view spec) {
  auto c = topo::CpusetSpec::parse(spec);
  if (c.ok())
    def_.cpuset = std::move(*c);
  else
    error("cpuset", c.error());
  return *this;
}

CgroupDef& CgroupDef::affinity(std::string_view mode) {
  auto a = scenario::Affinity::parse(mode);
  if (a.ok())
    def_.affinity = std::move(*a);
  else
    error("affinity", a.error());
  return *this;
}

CgroupDef& CgroupDef::policy(std::string_view policy) {
  auto p = workload::parse_policy(policy);
  if (p.ok())
    def_.policy = *p;
  else
    error("policy", p.error());
  return *this;
}

CgroupDef& CgroupDef::nice(int32_t nice) {
  if (nice < scenario::kMinNice || nice > scenario::kMaxNice)
    error("nice", invalid_argument(std::to_string(nice) + " is out of range; use -20..19"));
  else
    def_.nice = nice;
  return *this;
}

CgroupDef& CgroupDef::mempolicy(std::string_view policy) {
  auto m = workload::parse_mempolicy(policy);
  if (m.ok())
    def_.mempolicy = std::move(*m);
  else
    error("mempolicy", m.error());
  return *this;
}

CgroupDef& CgroupDef::child(const CgroupDef& c) {
  children_.push_back(c);
  return *this;
}

Result<scenario::CgroupDef> CgroupDef::build(std::string_view parent) const {
  if (!errors_.empty()) return invalid_argument(errors_.front());
  scenario::CgroupDef out = def_;
  if (!parent.empty()) out.name = std::string(parent) + "/" + def_.name;
  if (!children_.empty() && !workers_set_) out.workers = scenario::WorkerCount::fixed(0);
  for (const auto& c : children_) {
    KTSTR_ASSIGN(auto built, c.build(out.name));
    out.children.push_back(std::move(built));
  }
  return out;
}

// ---- Op ----------------------------------------------------------------------

Op Op::invalid(std::string error) {
  Op o(scenario::ops::Snapshot{});
  o.error_ = std::move(error);
  return o;
}

Result<scenario::Op> Op::build() const {
  if (!error_.empty()) return invalid_argument(error_);
  return op_;
}

scenario::SnapshotAssertion expect_snapshot(std::string snapshot, std::string path,
                                            scenario::CompareOp op, double value) {
  scenario::SnapshotAssertion a;
  a.snapshot = std::move(snapshot);
  a.path = std::move(path);
  a.op = op;
  a.value = value;
  return a;
}

scenario::SnapshotAssertion expect_series(std::vector<std::string> snapshots, std::string path,
                                          scenario::AssertKind kind) {
  scenario::SnapshotAssertion a;
  a.snapshots = std::move(snapshots);
  a.path = std::move(path);
  a.kind = kind;
  return a;
}

namespace op {

namespace ops = scenario::ops;

Op add_cgroup(const CgroupDef& cgroup) {
  auto def = cgroup.build();
  if (!def.ok()) return Op::invalid("add-cgroup: " + def.error().message());
  return ops::AddCgroup{std::move(*def)};
}

Op remove_cgroup(std::string cgroup) { return ops::RemoveCgroup{std::move(cgroup)}; }

Op set_cpuset(std::string cgroup, std::string_view spec) {
  auto c = topo::CpusetSpec::parse(spec);
  if (!c.ok())
    return Op::invalid("set-cpuset " + quoted(cgroup) + ": cpuset: " + c.error().message());
  return ops::SetCpuset{std::move(cgroup), std::move(*c)};
}

Op clear_cpuset(std::string cgroup) { return ops::ClearCpuset{std::move(cgroup)}; }

Op swap_cpusets(std::string a, std::string b) {
  return ops::SwapCpusets{std::move(a), std::move(b)};
}

Op spawn(std::string cgroup, uint32_t count) {
  return ops::Spawn{std::move(cgroup), scenario::WorkerCount::fixed(count), std::nullopt};
}

Op spawn(std::string cgroup, uint32_t count, const WorkSpec& work) {
  if (auto st = workload::validate(work); !st.ok())
    return Op::invalid("spawn " + quoted(cgroup) + ": work: " + st.error().message());
  return ops::Spawn{std::move(cgroup), scenario::WorkerCount::fixed(count), work};
}

Op stop_cgroup(std::string cgroup) { return ops::StopCgroup{std::move(cgroup)}; }

Op set_affinity(std::string cgroup, std::string_view affinity) {
  auto a = scenario::Affinity::parse(affinity);
  if (!a.ok())
    return Op::invalid("set-affinity " + quoted(cgroup) + ": affinity: " + a.error().message());
  return ops::SetAffinity{std::move(cgroup), std::move(*a)};
}

Op spawn_host(uint32_t count, const WorkSpec& work) {
  if (auto st = workload::validate(work); !st.ok())
    return Op::invalid("spawn-host: work: " + st.error().message());
  return ops::SpawnHost{scenario::WorkerCount::fixed(count), work};
}

Op move_all_tasks(std::string from, std::string to) {
  return ops::MoveAllTasks{std::move(from), std::move(to)};
}

Op freeze_worker(std::string cgroup, uint32_t worker, uint32_t duration_ms) {
  return ops::FreezeWorker{std::move(cgroup), worker, duration_ms};
}

Op snapshot(std::string name) { return ops::Snapshot{std::move(name)}; }

Op watch_snapshot(std::string symbol) { return ops::WatchSnapshot{std::move(symbol)}; }

namespace {
scenario::KernelOpSpec symbol_op(scenario::KernelOpSpec::Access access, std::string symbol,
                                 uint8_t width, uint64_t value, std::string tag) {
  scenario::KernelOpSpec k;
  k.access = access;
  k.target = scenario::KernelOpSpec::Target::kSymbol;
  k.symbol = std::move(symbol);
  k.width = width;
  k.value = value;
  k.tag = std::move(tag);
  return k;
}
}  // namespace

Op kernel_read(std::string symbol, uint8_t width, std::string tag) {
  return ops::KernelRead{symbol_op(scenario::KernelOpSpec::Access::kRead, std::move(symbol), width, 0,
                                   std::move(tag))};
}

Op kernel_write(std::string symbol, uint8_t width, uint64_t value, std::string tag) {
  return ops::KernelWrite{symbol_op(scenario::KernelOpSpec::Access::kWrite, std::move(symbol), width,
                                    value, std::move(tag))};
}

}  // namespace op

// ---- Scenario ----------------------------------------------------------------

Scenario& Scenario::backdrop(const CgroupDef& cgroup) {
  backdrop_.push_back(cgroup);
  return *this;
}

Scenario& Scenario::step(double hold_fraction, std::vector<Op> ops) {
  steps_.push_back({scenario::Hold::of_fraction(hold_fraction), std::move(ops)});
  return *this;
}

Scenario& Scenario::step_ms(uint32_t hold_ms, std::vector<Op> ops) {
  steps_.push_back({scenario::Hold::of_duration_ms(hold_ms), std::move(ops)});
  return *this;
}

Scenario& Scenario::loop(uint32_t interval_ms, double hold_fraction, std::vector<Op> ops) {
  steps_.push_back({scenario::Hold::loop(interval_ms, hold_fraction), std::move(ops)});
  return *this;
}

Scenario& Scenario::duration_ms(uint32_t ms) {
  duration_ms_ = ms;
  return *this;
}

Scenario& Scenario::requires_cpus(uint32_t n) {
  requirements_.min_cpus = n;
  return *this;
}

Scenario& Scenario::requires_llcs(uint32_t n) {
  requirements_.min_llcs = n;
  return *this;
}

Scenario& Scenario::requires_numa_nodes(uint32_t n) {
  requirements_.min_numa_nodes = n;
  return *this;
}

Scenario& Scenario::requires_smt() {
  requirements_.smt = true;
  return *this;
}

Result<scenario::Scenario> Scenario::build(std::string name, std::string description,
                                           uint32_t duration_ms) const {
  scenario::Scenario s;
  s.name = std::move(name);
  s.description = std::move(description);
  s.duration_ms = duration_ms_ ? duration_ms_ : duration_ms;
  s.requirements = requirements_;
  for (size_t i = 0; i < backdrop_.size(); ++i) {
    KTSTR_ASSIGN(auto c, backdrop_[i].build(), "backdrop[" + std::to_string(i) + "]");
    s.backdrop.push_back(std::move(c));
  }
  for (size_t i = 0; i < steps_.size(); ++i) {
    scenario::Step step;
    step.hold = steps_[i].hold;
    for (size_t j = 0; j < steps_[i].ops.size(); ++j) {
      KTSTR_ASSIGN(auto o, steps_[i].ops[j].build(),
                   "step[" + std::to_string(i) + "].ops[" + std::to_string(j) + "]");
      step.ops.push_back(std::move(o));
    }
    s.steps.push_back(std::move(step));
  }
  return s;
}

}  // namespace ktstr
