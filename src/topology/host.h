// The HOST's CPU topology as read from sysfs (online CPUs, packages, cores,
// SMT siblings, last-level caches, NUMA nodes, SLIT, node memory), and its
// NnNlNcNt equivalent when the host is regular.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <vector>

#include "topology/cpuset.h"
#include "topology/topology.h"
#include "util/result.h"

namespace ktstr::topo {

struct HostTopology {
  struct Cpu {
    uint32_t id = 0;
    uint32_t node = 0;     // index into nodes
    uint32_t package = 0;  // physical_package_id (0 if unknown)
    uint32_t die = 0;      // die_id (0 if unknown)
    uint32_t core_id = 0;  // core_id as sysfs reports it (not unique across packages)
    uint32_t llc = 0;      // index into llcs
    CpuSet siblings;       // SMT siblings including this CPU
  };
  std::vector<Cpu> cpus;           // online CPUs, ascending id
  std::vector<CpuSet> llcs;        // ordered by lowest CPU
  std::vector<CpuSet> nodes;       // ordered by sysfs node id (a node may have no CPUs)
  std::vector<uint32_t> node_ids;  // sysfs id of each entry in nodes
  std::vector<std::vector<uint32_t>> distances;  // nodes x nodes SLIT
  std::vector<uint64_t> node_memory_mb;          // per node; 0 when unknown

  // Distinct SMT sibling groups.
  uint32_t num_cores() const;
  // The equivalent NnNlNcNt when every node has the same number of LLCs,
  // no LLC spans nodes, every LLC has the same number of cores and every core
  // the same number of threads. Carries the host SLIT and node memory; it may
  // exceed VM limits (call validate()).
  std::optional<Topology> as_regular() const;
};

// Reads <sysfs_root>/devices/system/{cpu,node}. Missing per-CPU topology
// files fall back to a lone CPU in package 0; missing cache info to one LLC
// per package; a missing node directory to one node with every CPU.
Result<HostTopology> read_host_topology(const std::filesystem::path& sysfs_root = "/sys");

}  // namespace ktstr::topo
