// Topology: a VM CPU topology given as code, "NnNlNcNt" (e.g. 1n2l4c2t =
// 1 NUMA node, 2 LLCs, 4 cores per LLC, 2 threads per core), with the vCPU
// numbering QEMU uses when each LLC is one socket (or die) holding its cores
// and, inside each core, its threads:
//   cpu = ((llc * cores_per_llc) + core) * threads_per_core + thread
// where llc is the global LLC index and node = llc / llcs_per_node.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "topology/cpuset.h"
#include "util/result.h"

namespace ktstr::topo {

// QEMU/KVM x86 limits the topology is validated against.
inline constexpr uint32_t kMaxVmCpus = 252;
inline constexpr uint32_t kMaxThreadsPerCore = 8;
inline constexpr uint32_t kMaxNumaNodes = 128;
inline constexpr uint32_t kLocalDistance = 10;
inline constexpr uint32_t kRemoteDistance = 20;
inline constexpr uint32_t kMaxDistance = 254;  // 255 means unreachable

struct CpuLocation {
  uint32_t node = 0;
  uint32_t llc = 0;     // global LLC index
  uint32_t core = 0;    // core index within its LLC
  uint32_t thread = 0;  // thread index within its core
  bool operator==(const CpuLocation&) const = default;
};

struct Topology {
  uint32_t numa_nodes = 1;
  uint32_t llcs = 1;  // total, across all nodes
  uint32_t cores_per_llc = 1;
  uint32_t threads_per_core = 1;
  std::vector<uint64_t> node_memory_mb;  // empty = split guest memory evenly
  // SLIT, numa_nodes x numa_nodes; empty = 10 on the diagonal, 20 elsewhere.
  std::vector<std::vector<uint32_t>> distances;

  // Parses "NnNlNcNt" and validates it; errors name the offending field.
  static Result<Topology> parse(std::string_view spec);
  // Canonical "NnNlNcNt" (memory and distances are not part of the spec).
  std::string to_string() const;
  // Counts (>= 1, llcs a multiple of numa_nodes, <= kMaxVmCpus CPUs,
  // threads_per_core <= 8), node memory count, and the SLIT (square, 10 on
  // the diagonal, 11..254 elsewhere, symmetric).
  Status validate() const;

  uint32_t num_cpus() const { return llcs * cores_per_llc * threads_per_core; }
  uint32_t llcs_per_node() const { return llcs / numa_nodes; }
  uint32_t cpus_per_llc() const { return cores_per_llc * threads_per_core; }
  uint32_t cpus_per_node() const { return llcs_per_node() * cpus_per_llc(); }
  // SLIT distance; 0 when a or b is not a node.
  uint32_t distance(uint32_t a, uint32_t b) const;

  // On a validated topology: cpu must be < num_cpus(); loc must be inside it.
  CpuLocation locate(uint32_t cpu) const;
  uint32_t cpu_at(const CpuLocation& loc) const;

  CpuSet all_cpus() const;
  CpuSet llc_cpus(uint32_t llc) const;                   // empty if llc is out of range
  CpuSet node_cpus(uint32_t node) const;                 // empty if node is out of range
  CpuSet sibling_cpus(uint32_t cpu) const;               // SMT siblings, including cpu
  std::vector<uint32_t> node_llcs(uint32_t node) const;  // global LLC ids

  bool operator==(const Topology&) const = default;
};

}  // namespace ktstr::topo
