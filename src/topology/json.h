// JSON views of a Topology and a HostTopology (for `ktstr topo --json` and
// reports). CPU sets are kernel cpu-list strings ("0-3,8").
//
// Topology: {spec, numa_nodes, llcs, cores_per_llc, threads_per_core, cpus,
//   node_list: [{id, cpus, llcs: [..], memory_mb (null = split evenly), distances: [..]}],
//   llc_list:  [{id, node, cpus}],
//   cpu_list:  [{cpu, node, llc, core, thread, siblings}]}
// HostTopology: {source: "host", regular (spec or null), numa_nodes, llcs,
//   cores, cpus, node_list: [{id, sysfs_id, cpus, llcs, memory_mb, distances}],
//   llc_list: [{id, node, cpus}],
//   cpu_list: [{cpu, node, llc, package, die, core_id, siblings}]}
#pragma once

#include <nlohmann/json.hpp>

#include "topology/host.h"
#include "topology/topology.h"

namespace ktstr::topo {

nlohmann::json to_json(const Topology& topo);
nlohmann::json to_json(const HostTopology& host);

}  // namespace ktstr::topo
