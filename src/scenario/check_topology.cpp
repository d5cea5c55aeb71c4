// check_topology(): every topology-dependent value of a scenario, resolved
// once against the VM's topology before it boots.
#include <algorithm>
#include <string>
#include <vector>

#include "scenario/model.h"

namespace ktstr::scenario {

namespace {

class Checker {
 public:
  explicit Checker(const topo::Topology& topo) : topo_(topo) {}

  void cpuset(const topo::CpusetSpec& spec, const std::string& path) {
    auto r = spec.resolve(topo_);
    if (!r.ok()) fail(path, r.error().message());
  }

  void affinity(const Affinity& a, const std::string& path) {
    if (a.kind == Affinity::Kind::kExact && !a.cpus.is_subset_of(topo_.all_cpus()))
      fail(path, "'" + a.to_string() + "' names CPUs outside topology " + topo_.to_string() +
                     " (CPUs " + topo_.all_cpus().to_list() + "); use CPUs that exist");
    if (a.kind == Affinity::Kind::kRandomSubset && a.size > topo_.num_cpus())
      fail(path, "'" + a.to_string() + "' asks for more CPUs than topology " + topo_.to_string() +
                     " has (" + std::to_string(topo_.num_cpus()) + "); use a smaller size");
  }

  void mempolicy(const MemPolicy& m, const std::string& path) {
    if (m.nodes.empty()) return;
    const uint32_t last = *std::max_element(m.nodes.begin(), m.nodes.end());
    if (last >= topo_.numa_nodes)
      fail(path, "'" + workload::to_string(m) + "' names NUMA node " + std::to_string(last) +
                     " but topology " + topo_.to_string() + " has " +
                     std::to_string(topo_.numa_nodes) + "; add requires.min_numa_nodes or use node 0");
  }

  void cgroup(const CgroupDef& d, const std::string& path) {
    if (d.cpuset) cpuset(*d.cpuset, path + ".cpuset");
    affinity(d.affinity, path + ".affinity");
    mempolicy(d.mempolicy, path + ".mempolicy");
    for (size_t i = 0; i < d.children.size(); ++i)
      cgroup(d.children[i], path + ".children[" + std::to_string(i) + "]");
  }

  void op(const Op& op, const std::string& path) {
    if (auto* add = std::get_if<ops::AddCgroup>(&op)) cgroup(add->cgroup, path + ".cgroup");
    if (auto* set = std::get_if<ops::SetCpuset>(&op)) cpuset(set->cpuset, path + ".cpuset");
    if (auto* aff = std::get_if<ops::SetAffinity>(&op)) affinity(aff->affinity, path + ".affinity");
  }

  Status result(const std::string& scenario) const {
    if (errors_.empty()) return {};
    std::string msg;
    for (const auto& e : errors_) msg += (msg.empty() ? "" : "\n") + e;
    return invalid_argument("scenario '" + scenario + "' on " + topo_.to_string() + ": " + msg);
  }

 private:
  void fail(const std::string& path, const std::string& what) {
    errors_.push_back(path + ": " + what);
  }

  const topo::Topology& topo_;
  std::vector<std::string> errors_;
};

}  // namespace

Status check_topology(const Scenario& s, const topo::Topology& topo) {
  Checker c(topo);
  for (size_t i = 0; i < s.backdrop.size(); ++i)
    c.cgroup(s.backdrop[i], "backdrop[" + std::to_string(i) + "]");
  for (size_t i = 0; i < s.steps.size(); ++i)
    for (size_t j = 0; j < s.steps[i].ops.size(); ++j)
      c.op(s.steps[i].ops[j], "step[" + std::to_string(i) + "].ops[" + std::to_string(j) + "]");
  return c.result(s.name);
}

}  // namespace ktstr::scenario
