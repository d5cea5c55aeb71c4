// Is cgroup v2 usable here? Finds the cgroup2 mount and checks that the
// controllers scenarios need (cpu, cpuset) are available in it, failing in
// one line that says what to do (e.g. on a cgroup v1 host).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/result.h"

namespace ktstr::cgroup {

// `mount` when it is a cgroup2 filesystem (statfs f_type ==
// CGROUP2_SUPER_MAGIC); otherwise kUnavailable, e.g. on a cgroup v1 host:
// "ktstr run needs cgroup v2 at /sys/fs/cgroup (this host has cgroup v1);
//  boot with systemd.unified_cgroup_hierarchy=1 or use `ktstr test` to run in a VM"
Result<std::filesystem::path> find_cgroup2_root(
    const std::filesystem::path& mount = "/sys/fs/cgroup");

// The controllers listed in <dir>/cgroup.controllers (those the parent
// hands down; at the root, those not bound to cgroup v1).
Result<std::vector<std::string>> available_controllers(const std::filesystem::path& dir);

// kUnavailable naming every controller of `wanted` missing from
// <root>/cgroup.controllers.
Status check_controllers(const std::filesystem::path& root,
                         const std::vector<std::string>& wanted = {"cpu", "cpuset"});

}  // namespace ktstr::cgroup
