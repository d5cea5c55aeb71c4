#include "cgroup/tree.h"

#include <unistd.h>

#include <cstdio>
#include <random>

#include "cgroup/cleanup.h"
#include "cgroup/detail/control.h"

namespace ktstr::cgroup {

namespace fs = std::filesystem;

namespace {

CreateOptions scenario_options(const TreeOptions& t) {
  return CreateOptions{.controllers = t.controllers,
                       .leftover = Leftover::kKill,
                       .remove_timeout = t.remove_timeout};
}

bool is_descendant(const std::string& name, const std::string& of) {
  return name.size() > of.size() && name.compare(0, of.size(), of) == 0 && name[of.size()] == '/';
}

void keep_first(Status& first, Status s) {
  if (first.ok() && !s.ok()) first = std::move(s);
}

}  // namespace

Result<CgroupTree> CgroupTree::create(const fs::path& mount_root, const TreeOptions& opts) {
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%06x", std::random_device{}() & 0xffffff);
  CgroupTree t;
  t.opts_ = opts;
  KTSTR_ASSIGN(
      t.root_,
      Cgroup::create(mount_root, tree_root_name(::getpid(), suffix), scenario_options(opts)),
      "creating the ktstr cgroup tree");
  return t;
}

CgroupTree::~CgroupTree() { (void)destroy(); }

CgroupTree& CgroupTree::operator=(CgroupTree&& o) noexcept {
  if (this != &o) {
    (void)destroy();
    root_ = std::move(o.root_);
    cgroups_ = std::move(o.cgroups_);
    opts_ = std::move(o.opts_);
  }
  return *this;
}

Result<Cgroup*> CgroupTree::add(const std::string& name) {
  if (!root_.valid()) return invalid_argument("add('" + name + "') on an empty CgroupTree");
  KTSTR_TRY(detail::validate_name(name));
  if (contains(name)) return invalid_argument("cgroup '" + name + "' is already in the tree");
  auto slash = name.rfind('/');
  const Cgroup* parent = &root_;
  std::string leaf = name;
  if (slash != std::string::npos) {
    KTSTR_ASSIGN(auto p, contains(name.substr(0, slash)) ? get(name.substr(0, slash))
                                                         : add(name.substr(0, slash)));
    parent = p;
    leaf = name.substr(slash + 1);
  }
  KTSTR_ASSIGN(auto cg, Cgroup::create(parent->path(), leaf, scenario_options(opts_)),
               "adding cgroup '" + name + "'");
  return &cgroups_.emplace(name, std::move(cg)).first->second;
}

Result<Cgroup*> CgroupTree::get(const std::string& name) {
  auto it = cgroups_.find(name);
  if (it != cgroups_.end()) return &it->second;
  std::string have;
  for (const auto& [n, cg] : cgroups_) have += (have.empty() ? "" : ", ") + n;
  return not_found("no cgroup named '" + name + "' (have: " + (have.empty() ? "none" : have) + ")");
}

std::vector<std::string> CgroupTree::names() const {
  std::vector<std::string> out;
  for (const auto& [n, cg] : cgroups_) out.push_back(n);
  return out;
}

Status CgroupTree::remove(const std::string& name) {
  auto it = cgroups_.find(name);
  if (it == cgroups_.end()) return get(name).error();
  KTSTR_TRY(it->second.kill_all(opts_.remove_timeout), "removing cgroup '" + name + "'");
  // Descendants sort right after `name`; destroy them deepest first.
  auto end = std::next(it);
  while (end != cgroups_.end() && is_descendant(end->first, name)) ++end;
  Status first;
  for (auto r = std::make_reverse_iterator(end); r != std::make_reverse_iterator(it); ++r)
    keep_first(first, r->second.destroy());
  keep_first(first, it->second.destroy());
  cgroups_.erase(it, end);
  return first;
}

Status CgroupTree::swap_cpusets(const std::string& a, const std::string& b) {
  KTSTR_ASSIGN(Cgroup * ca, get(a), "swapping cpusets");
  KTSTR_ASSIGN(Cgroup * cb, get(b), "swapping cpusets");
  KTSTR_ASSIGN(auto sa, ca->cpuset(), "swapping cpusets");
  KTSTR_ASSIGN(auto sb, cb->cpuset(), "swapping cpusets");
  auto apply = [](Cgroup* cg, const topo::CpuSet& s) {
    return s.empty() ? cg->clear_cpuset() : cg->set_cpuset(s);
  };
  KTSTR_TRY(apply(ca, sb), "swapping cpusets of '" + a + "' and '" + b + "'");
  auto s = apply(cb, sa);
  if (!s.ok()) {
    (void)apply(ca, sa);  // best effort: leave both as they were
    return std::move(s).error().context("swapping cpusets of '" + a + "' and '" + b + "'");
  }
  return {};
}

Status CgroupTree::destroy() {
  if (!root_.valid()) return {};
  Status first = root_.kill_all(opts_.remove_timeout);
  for (auto it = cgroups_.rbegin(); it != cgroups_.rend(); ++it)  // children first
    keep_first(first, it->second.destroy());
  cgroups_.clear();
  keep_first(first, root_.destroy());
  return first;
}

}  // namespace ktstr::cgroup
