// Removing what crashed ktstr runs left behind (`ktstr cleanup`): tree roots
// named ktstr-<pid>-<suffix> whose pid no longer exists.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::cgroup {

// "ktstr-<pid>-<suffix>": the name CgroupTree gives its root.
std::string tree_root_name(pid_t pid, std::string_view suffix);
// The pid in such a name; nullopt for any other name.
std::optional<pid_t> tree_root_owner(std::string_view name);

// Kills the tasks of and removes (bottom-up) every ktstr-<pid>-* directory
// directly under `root` whose pid is dead; returns the removed tree roots.
// Live owners (and this process) are left alone. On failure it still tries
// the rest, then reports the first error.
Result<std::vector<std::filesystem::path>> cleanup_stale(
    const std::filesystem::path& root = "/sys/fs/cgroup",
    std::chrono::milliseconds timeout_each = std::chrono::seconds(10));

}  // namespace ktstr::cgroup
