// CgroupTree: every cgroup of one ktstr run, under a private root
// <mount>/ktstr-<pid>-<rand>, removed together on destruction.
//
// Layout (cgroup v2 allows tasks only in leaves once controllers are
// enabled below a non-root cgroup):
//   <mount>/                          hierarchy root; may hold tasks
//   <mount>/ktstr-<pid>-<rand>/       tree root: controllers on, never tasks
//   <mount>/ktstr-<pid>-<rand>/cg_0   scenario cgroups; tasks in leaves only
// The engine itself stays outside the tree: destruction kills every task in it.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "util/result.h"

namespace ktstr::cgroup {

struct TreeOptions {
  // Enabled at every level from the mount root down to the scenario cgroups.
  std::vector<std::string> controllers = {"cpu", "cpuset"};
  std::chrono::milliseconds remove_timeout{10000};
};

class CgroupTree {
 public:
  // Creates <mount_root>/ktstr-<pid>-<rand>.
  static Result<CgroupTree> create(const std::filesystem::path& mount_root,
                                   const TreeOptions& opts = {});

  CgroupTree() = default;
  ~CgroupTree();  // destroy(), errors ignored
  CgroupTree(CgroupTree&&) noexcept = default;
  CgroupTree& operator=(CgroupTree&& o) noexcept;
  CgroupTree(const CgroupTree&) = delete;
  CgroupTree& operator=(const CgroupTree&) = delete;

  const std::filesystem::path& root() const { return root_.path(); }

  // Creates scenario cgroup `name` ("cg_0", "parent/child"); missing
  // ancestors are added too. Pointers stay valid until removal.
  Result<Cgroup*> add(const std::string& name);
  // kNotFound (listing the known names) when absent.
  Result<Cgroup*> get(const std::string& name);
  bool contains(const std::string& name) const { return cgroups_.count(name) != 0; }
  std::vector<std::string> names() const;  // sorted; parents before children
  // Kills the tasks of `name` and its descendants and removes them all.
  Status remove(const std::string& name);

  // Exchanges the configured cpuset.cpus of a and b ("" = inherit moves too).
  Status swap_cpusets(const std::string& a, const std::string& b);

  // Kills every task in the tree, removes all cgroups bottom-up, then the
  // tree root. Afterwards the tree is empty.
  Status destroy();

 private:
  Cgroup root_;
  std::map<std::string, Cgroup> cgroups_;  // a name sorts before its descendants
  TreeOptions opts_;
};

}  // namespace ktstr::cgroup
