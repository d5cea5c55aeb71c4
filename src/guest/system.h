// Bringing up the guest's userspace as PID 1: filesystems, cgroup v2
// controllers, hostname and environment. Every step is best effort and
// reported, because a missing debugfs must not stop a run.
#pragma once

#include <string>
#include <vector>

namespace ktstr::guest {

struct SetupStep {
  std::string what;   // "mount cgroup2 on /sys/fs/cgroup"
  std::string error;  // empty when it worked
};

// Mounts proc, sysfs, devtmpfs, devpts, tmpfs (/tmp, /run, /dev/shm),
// cgroup2 (+cpu +cpuset for children), bpffs, debugfs, tracefs; sets the
// hostname, PATH, HOME and kptr_restrict=0 (so kallsyms shows addresses).
std::vector<SetupStep> prepare_system();

}  // namespace ktstr::guest
