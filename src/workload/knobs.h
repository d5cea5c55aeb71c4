// Per-worker scheduling knobs: CPU affinity, scheduling policy, nice and NUMA
// memory policy — their scenario-file spelling and how they are applied.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::workload {

struct Policy {
  enum class Kind { kNormal, kBatch, kIdle, kFifo, kRr } kind = Kind::kNormal;
  int priority = 0;  // 1..99 for fifo/rr, 0 otherwise
  bool operator==(const Policy&) const = default;
};

struct MemPolicy {
  enum class Kind { kDefault, kBind, kPreferred, kInterleave, kLocal } kind = Kind::kDefault;
  std::vector<uint32_t> nodes;  // bind/interleave: >= 1 node; preferred: exactly 1; else none
  bool operator==(const MemPolicy&) const = default;
};

// "normal", "batch", "idle", "fifo:50", "rr:10" (the scenario file's
// spelling; errors name the text and the fix).
Result<Policy> parse_policy(std::string_view text);
std::string to_string(const Policy& p);
Status validate(const Policy& p);

// "default", "local", "bind:0-1", "preferred:1", "interleave:0,2"; written
// back in the kernel's list syntax ("interleave:0-2,5").
Result<MemPolicy> parse_mempolicy(std::string_view text);
std::string to_string(const MemPolicy& m);
Status validate(const MemPolicy& m);

// Applied by the parent to a worker's pid (two-phase window, after cgroup
// placement: attaching to a cpuset cgroup resets affinity).
Status apply_affinity(pid_t pid, const std::vector<uint32_t>& cpus);
Status apply_policy(pid_t pid, const Policy& p);
Status apply_nice(pid_t pid, int nice);  // -20..19; no syscall when already at `nice`

// Applied by a worker to itself (set_mempolicy is per thread). kDefault does
// nothing, so kernels without CONFIG_NUMA work unless a policy is asked for.
Status apply_mempolicy_self(const MemPolicy& m);

}  // namespace ktstr::workload
