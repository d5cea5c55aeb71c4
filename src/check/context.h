// RunContext: what the checks must know about the run besides the reports:
// whether the VM was emulated, the cgroups' cpusets and NUMA nodes, and how
// long the workload ran.
//
// Accelerator rule. Under TCG (emulated), QEMU runs every vCPU on one host
// thread in turn (-accel tcg,thread=single; a vCPU is kicked off after at
// most 100 ms), while guest time keeps following the host clock. A worker's
// vCPU can therefore sit still for (vCPUs - 1) x 100 ms at a time, and code
// runs 10-50x slower than on KVM. Per check:
//   error, starvation, isolation,              strict: never relaxed. They
//   migration ratio, NUMA locality             count events, which a stalled
//                                              vCPU does not skew.
//   gap, spread                                scaled: fail above limit x
//                                              time_scale (spread: at most
//                                              100 %); above the limit alone
//                                              advisory. A worker's off-CPU %
//                                              grows while its vCPU waits its
//                                              turn, so siblings differ by chance.
//   work/iteration rate, throughput CV,        advisory: reported with
//   wake latency p99 and CV                    "emulated (TCG): timing
//                                              advisory", never fail.
// On KVM or the host (emulated = false) every check is strict and
// time_scale is ignored. thresholds.h's tcg_policy(key) is the table.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "topology/cpuset.h"

namespace ktstr::check {

struct RunContext {
  bool emulated = false;    // the VM ran under TCG
  double time_scale = 1.0;  // gap limit multiplier when emulated (< 1 is taken as 1)
  uint32_t cpus = 0;        // guest CPUs
  // Cgroup name -> its cpuset. Cgroups without an entry (or with an empty
  // set) are not confined, so isolation has nothing to check for them.
  std::map<std::string, topo::CpuSet> cgroup_cpusets;
  // Cgroup name -> the NUMA nodes its memory policy binds to (locality).
  std::map<std::string, std::vector<uint32_t>> cgroup_numa_nodes;
  uint64_t duration_ms = 0;  // planned workload duration (messages only)
};

// The time_scale to use for a run: 1 on KVM/host; under TCG max(4, cpus/2),
// covering one full round of the other vCPUs plus emulation slowdown.
double default_time_scale(bool emulated, uint32_t cpus);

}  // namespace ktstr::check
