// Cgroup: move-only owner of one cgroup v2 directory used by a scenario.
//
// Creation makes the directory (nested names "a/b" one level at a time) after
// enabling the wanted controllers in each parent's cgroup.subtree_control.
// Destruction (or destroy()) evacuates the tasks left inside -- moved to the
// hierarchy root, or killed -- and removes the directory and everything below
// it bottom-up, waiting (bounded) until the kernel reports it unpopulated.
//
// cgroup v2 "no internal processes": a non-root cgroup that enables
// controllers for its children cannot hold tasks alongside populated
// children. With only threaded controllers (cpu, cpuset) the kernel's answer
// depends on the order (EBUSY into the parent, or EOPNOTSUPP into a child of
// a parent holding tasks), so the rule here is simply: tasks in leaf cgroups
// only. The hierarchy root is the one place tasks may always go.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "topology/cpuset.h"
#include "util/result.h"

namespace ktstr::cgroup {

// What destroy() does with tasks still inside.
enum class Leftover {
  kMoveToRoot,  // move them to the hierarchy root's cgroup.procs (non-destructive)
  kKill,        // cgroup.kill (SIGKILL to every task below)
};

struct CreateOptions {
  // Enabled in each created level's parent's cgroup.subtree_control so the
  // new cgroup gets their files; each must be in the parent's cgroup.controllers.
  std::vector<std::string> controllers = {"cpu", "cpuset"};
  Leftover leftover = Leftover::kMoveToRoot;
  // Bound for destroy(): tasks exiting, then rmdir.
  std::chrono::milliseconds remove_timeout{10000};
};

class Cgroup {
 public:
  // Creates <parent_dir>/<name>. Missing intermediate levels of a nested name
  // are created (and owned: removed with this cgroup); existing ones are
  // reused. Fails if the leaf already exists.
  static Result<Cgroup> create(const std::filesystem::path& parent_dir, const std::string& name,
                               const CreateOptions& opts = {});

  Cgroup() = default;  // owns nothing
  ~Cgroup();           // destroy(), errors ignored
  Cgroup(Cgroup&& o) noexcept;
  Cgroup& operator=(Cgroup&& o) noexcept;
  Cgroup(const Cgroup&) = delete;
  Cgroup& operator=(const Cgroup&) = delete;

  bool valid() const { return !path_.empty(); }
  const std::filesystem::path& path() const { return path_; }
  const std::string& name() const { return name_; }  // as given to create(): "a/b"

  // cpuset.cpus (must lie within the parent's effective CPUs). Fills
  // cpuset.mems from the parent's effective mems if this cgroup has none.
  Status set_cpuset(const topo::CpuSet& cpus);
  // Empties cpuset.cpus: the cgroup inherits the parent's CPUs again.
  Status clear_cpuset();
  Result<topo::CpuSet> cpuset() const;          // cpuset.cpus as configured ("" = inherit)
  Result<topo::CpuSet> effective_cpus() const;  // cpuset.cpus.effective

  // Moves a whole process (thread group) in. pid must be > 0.
  Status move_task(pid_t pid);
  // Moves every task of this cgroup (and its descendants) into `dst`,
  // re-reading until none are left (tasks may fork meanwhile), bounded.
  Status move_all_tasks_to(const Cgroup& dst);
  Result<std::vector<pid_t>> tasks() const;  // cgroup.procs
  Result<bool> populated() const;            // any task here or below

  Status set_weight(uint32_t weight);  // cpu.weight, 1..10000 (default 100)
  // cpu.max: at most quota_us per period_us; nullopt quota = "max" (no limit).
  Status set_max(std::optional<uint64_t> quota_us, uint64_t period_us = 100000);
  // cgroup.freeze, then waits until cgroup.events reports the new state.
  Status freeze(bool frozen, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // SIGKILLs every task here and below (cgroup.kill, else per pid) and waits
  // until unpopulated. Refuses when the calling process is inside.
  Status kill_all(std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // A child cgroup created with this cgroup's options.
  Result<Cgroup> create_child(const std::string& name) const;

  // Removes the cgroup now, reporting errors; afterwards this owns nothing.
  Status destroy();
  // Stops owning the directory (left on disk); returns its path.
  std::filesystem::path release();

 private:
  Status require(const char* file, const char* controller) const;

  std::filesystem::path path_;       // the leaf
  std::filesystem::path owned_top_;  // the topmost level create() made
  std::filesystem::path root_;       // the hierarchy root: where leftover tasks go
  std::string name_;
  CreateOptions opts_;
};

}  // namespace ktstr::cgroup
