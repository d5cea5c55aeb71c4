// Small value types of the scenario model with their one-string file
// syntax: worker counts ("2*cpus"), affinity modes ("random-subset:2"),
// scheduling policies ("fifo:10") and memory policies ("bind:0-1"). Each
// parse() error says what is accepted; to_string() parses back to the same
// value.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "topology/cpuset.h"
#include "topology/topology.h"
#include "util/result.h"
#include "workload/knobs.h"

namespace ktstr::scenario {

// How many workers: a fixed count, or scaled by the CPUs / LLCs the cgroup
// may use ("2*cpus", "cpus/2", "llcs"), at least 1 when scaled.
struct WorkerCount {
  enum class Kind { kFixed, kCpus, kLlcs };
  Kind kind = Kind::kFixed;
  uint32_t count = 1;  // kFixed
  uint32_t mul = 1;    // scaled: mul * X / div
  uint32_t div = 1;

  static WorkerCount fixed(uint32_t n) { return {Kind::kFixed, n, 1, 1}; }
  // "4", "cpus", "2*cpus", "cpus/2", "llcs", "3*llcs/2".
  static Result<WorkerCount> parse(std::string_view text);
  std::string to_string() const;
  // `allowed` is the set the workers may run on (the cgroup's cpuset or all
  // CPUs); LLCs count those that hold at least one allowed CPU.
  uint32_t resolve(const topo::Topology& topo, const topo::CpuSet& allowed) const;
  bool operator==(const WorkerCount&) const = default;
};

// Where each worker of a cgroup pins itself (sched_setaffinity).
struct Affinity {
  enum class Kind {
    kInherit,       // no pinning: the cgroup's cpuset decides
    kRandomSubset,  // a random subset of `size` allowed CPUs (0 = half, at least 1)
    kLlcAligned,    // all CPUs of one LLC, workers spread round-robin over LLCs
    kCrossCgroup,   // CPUs from outside the cgroup's cpuset as well (straddles cgroups)
    kSingleCpu,     // one CPU each, round-robin over the allowed CPUs
    kExact,         // exactly `cpus`
  };
  Kind kind = Kind::kInherit;
  uint32_t size = 0;  // kRandomSubset
  topo::CpuSet cpus;  // kExact

  // "inherit", "random-subset", "random-subset:2", "llc-aligned",
  // "cross-cgroup", "single-cpu", "exact:0-1,4".
  static Result<Affinity> parse(std::string_view text);
  std::string to_string() const;
  bool operator==(const Affinity&) const = default;
};

// Scheduling policy (sched_setscheduler) and NUMA memory policy
// (set_mempolicy) of each worker: the workload module's types, which also
// parse and print the scenario file's spelling (workload/knobs.h).
using SchedPolicy = workload::Policy;
using MemPolicy = workload::MemPolicy;

inline constexpr int32_t kMinNice = -20;
inline constexpr int32_t kMaxNice = 19;

}  // namespace ktstr::scenario
