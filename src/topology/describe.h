// Human-readable text for topologies, the host and the preset table (what
// `ktstr topo` prints without --json).
#pragma once

#include <string>

#include "topology/host.h"
#include "topology/topology.h"

namespace ktstr::topo {

// "1n2l4c2t: 1 node, 2 LLCs, 4 cores/LLC, 2 threads/core = 16 CPUs", then one
// line per node and LLC with its cpu list, then the SLIT if there are nodes.
std::string describe(const Topology& topo);
// "host: 1 node, 1 LLC, 2 cores, 1 thread/core = 2 CPUs (1n1l2c1t)", then
// per-node/LLC cpu lists, node memory and the SLIT.
std::string describe(const HostTopology& host);
// One row per preset: name, spec, cpus, nodes, llcs, smt, description.
std::string preset_table();

}  // namespace ktstr::topo
