#include "topology/json.h"

namespace ktstr::topo {

nlohmann::json to_json(const Topology& t) {
  nlohmann::json nodes = nlohmann::json::array();
  for (uint32_t n = 0; n < t.numa_nodes; ++n) {
    nlohmann::json dist = nlohmann::json::array();
    for (uint32_t m = 0; m < t.numa_nodes; ++m) dist.push_back(t.distance(n, m));
    nodes.push_back({{"id", n},
                     {"cpus", t.node_cpus(n).to_list()},
                     {"llcs", t.node_llcs(n)},
                     {"memory_mb", t.node_memory_mb.empty() ? nlohmann::json(nullptr)
                                                            : nlohmann::json(t.node_memory_mb[n])},
                     {"distances", std::move(dist)}});
  }
  nlohmann::json llcs = nlohmann::json::array();
  for (uint32_t l = 0; l < t.llcs; ++l)
    llcs.push_back({{"id", l}, {"node", l / t.llcs_per_node()}, {"cpus", t.llc_cpus(l).to_list()}});
  nlohmann::json cpus = nlohmann::json::array();
  for (uint32_t c = 0; c < t.num_cpus(); ++c) {
    CpuLocation loc = t.locate(c);
    cpus.push_back({{"cpu", c},
                    {"node", loc.node},
                    {"llc", loc.llc},
                    {"core", loc.core},
                    {"thread", loc.thread},
                    {"siblings", t.sibling_cpus(c).to_list()}});
  }
  return {{"spec", t.to_string()},
          {"numa_nodes", t.numa_nodes},
          {"llcs", t.llcs},
          {"cores_per_llc", t.cores_per_llc},
          {"threads_per_core", t.threads_per_core},
          {"cpus", t.num_cpus()},
          {"node_list", std::move(nodes)},
          {"llc_list", std::move(llcs)},
          {"cpu_list", std::move(cpus)}};
}

nlohmann::json to_json(const HostTopology& h) {
  nlohmann::json nodes = nlohmann::json::array();
  for (size_t n = 0; n < h.nodes.size(); ++n) {
    std::vector<uint32_t> llcs;
    for (size_t l = 0; l < h.llcs.size(); ++l)
      if (h.llcs[l].intersects(h.nodes[n])) llcs.push_back(static_cast<uint32_t>(l));
    nodes.push_back(
        {{"id", n},
         {"sysfs_id", n < h.node_ids.size() ? h.node_ids[n] : n},
         {"cpus", h.nodes[n].to_list()},
         {"llcs", llcs},
         {"memory_mb", n < h.node_memory_mb.size() ? h.node_memory_mb[n] : 0},
         {"distances", n < h.distances.size() ? h.distances[n] : std::vector<uint32_t>{}}});
  }
  nlohmann::json llcs = nlohmann::json::array();
  for (size_t l = 0; l < h.llcs.size(); ++l) {
    nlohmann::json node = nullptr;
    for (const auto& c : h.cpus)
      if (c.llc == l) {
        node = c.node;
        break;
      }
    llcs.push_back({{"id", l}, {"node", node}, {"cpus", h.llcs[l].to_list()}});
  }
  nlohmann::json cpus = nlohmann::json::array();
  for (const auto& c : h.cpus)
    cpus.push_back({{"cpu", c.id},
                    {"node", c.node},
                    {"llc", c.llc},
                    {"package", c.package},
                    {"die", c.die},
                    {"core_id", c.core_id},
                    {"siblings", c.siblings.to_list()}});
  auto regular = h.as_regular();
  return {{"source", "host"},
          {"regular", regular ? nlohmann::json(regular->to_string()) : nlohmann::json(nullptr)},
          {"numa_nodes", h.nodes.size()},
          {"llcs", h.llcs.size()},
          {"cores", h.num_cores()},
          {"cpus", h.cpus.size()},
          {"node_list", std::move(nodes)},
          {"llc_list", std::move(llcs)},
          {"cpu_list", std::move(cpus)}};
}

}  // namespace ktstr::topo
