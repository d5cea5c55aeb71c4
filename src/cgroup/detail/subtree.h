// Whole-subtree operations used when tearing cgroups down: list, kill,
// evacuate and remove bottom-up, each bounded by a deadline.
#pragma once

#include <filesystem>
#include <vector>

#include "cgroup/detail/control.h"
#include "util/result.h"

namespace ktstr::cgroup::detail {

// `dir` and every cgroup below it, parents before children.
std::vector<std::filesystem::path> subtree(const std::filesystem::path& dir);
// Every pid in cgroup.procs of `dir` and its descendants.
Result<std::vector<pid_t>> subtree_pids(const std::filesystem::path& dir);
// Refuses (kInvalidArgument) when this process is inside `dir`'s subtree.
Status ensure_not_inside(const std::filesystem::path& dir, const char* action);

// Kills every task below `dir` (cgroup.kill, else SIGKILL per pid, repeated
// to catch forks) and waits until cgroup.events says "populated 0".
// A missing `dir` is success.
Status kill_subtree(const std::filesystem::path& dir, Clock::time_point deadline);
// Moves every task below `dir` into `dst` (a cgroup directory).
Status move_subtree_tasks(const std::filesystem::path& dir, const std::filesystem::path& dst,
                          Clock::time_point deadline);
// rmdir bottom-up, retrying EBUSY until the deadline. A missing `dir` is success.
Status remove_subtree(const std::filesystem::path& dir, Clock::time_point deadline);

}  // namespace ktstr::cgroup::detail
