#include "topology/describe.h"

#include <fmt/format.h>

#include "topology/presets.h"

namespace ktstr::topo {

namespace {

std::string plural(uint64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string slit_table(const std::vector<std::vector<uint32_t>>& d) {
  std::string out = "distances:\n       ";
  for (size_t j = 0; j < d.size(); ++j) out += fmt::format(" {:>6}", fmt::format("node{}", j));
  out += '\n';
  for (size_t i = 0; i < d.size(); ++i) {
    out += fmt::format("  {:<5}", fmt::format("node{}", i));
    for (uint32_t v : d[i]) out += fmt::format(" {:>6}", v);
    out += '\n';
  }
  return out;
}

}  // namespace

std::string describe(const Topology& t) {
  std::string out = fmt::format(
      "{}: {}, {}, {}/LLC, {}/core = {}\n", t.to_string(), plural(t.numa_nodes, "node", "nodes"),
      plural(t.llcs, "LLC", "LLCs"), plural(t.cores_per_llc, "core", "cores"),
      plural(t.threads_per_core, "thread", "threads"), plural(t.num_cpus(), "CPU", "CPUs"));
  for (uint32_t n = 0; n < t.numa_nodes; ++n) {
    auto l = t.node_llcs(n);
    out += fmt::format("node {}: cpus {}, llcs {}", n, t.node_cpus(n).to_list(),
                       CpuSet::range(l.front(), l.back()).to_list());  // same "a-b" text
    if (!t.node_memory_mb.empty()) out += fmt::format(", {} MB", t.node_memory_mb[n]);
    out += '\n';
    for (uint32_t llc : l)
      out += fmt::format("  llc {}: cpus {}\n", llc, t.llc_cpus(llc).to_list());
  }
  if (t.numa_nodes > 1) {
    std::vector<std::vector<uint32_t>> d(t.numa_nodes);
    for (uint32_t i = 0; i < t.numa_nodes; ++i)
      for (uint32_t j = 0; j < t.numa_nodes; ++j) d[i].push_back(t.distance(i, j));
    out += slit_table(d);
  }
  return out;
}

std::string describe(const HostTopology& h) {
  auto regular = h.as_regular();
  std::string out =
      fmt::format("host: {}, {}, {}", plural(h.nodes.size(), "node", "nodes"),
                  plural(h.llcs.size(), "LLC", "LLCs"), plural(h.num_cores(), "core", "cores"));
  if (regular)
    out +=
        fmt::format(", {}/core = {} ({})\n", plural(regular->threads_per_core, "thread", "threads"),
                    plural(h.cpus.size(), "CPU", "CPUs"), regular->to_string());
  else
    out += fmt::format(" = {} (irregular: no NnNlNcNt equivalent)\n",
                       plural(h.cpus.size(), "CPU", "CPUs"));
  for (size_t n = 0; n < h.nodes.size(); ++n) {
    out += fmt::format("node {}: cpus {}", n < h.node_ids.size() ? h.node_ids[n] : n,
                       h.nodes[n].empty() ? "(none)" : h.nodes[n].to_list());
    if (n < h.node_memory_mb.size() && h.node_memory_mb[n])
      out += fmt::format(", {} MB", h.node_memory_mb[n]);
    out += '\n';
    for (size_t l = 0; l < h.llcs.size(); ++l)
      if (h.llcs[l].intersects(h.nodes[n]))
        out += fmt::format("  llc {}: cpus {}\n", l, h.llcs[l].to_list());
  }
  if (h.nodes.size() > 1) out += slit_table(h.distances);
  return out;
}

std::string preset_table() {
  std::string out = fmt::format("{:<20} {:<11} {:>4} {:>5} {:>4} {:<3}  {}\n", "NAME", "SPEC",
                                "CPUS", "NODES", "LLCS", "SMT", "DESCRIPTION");
  for (const Preset& p : presets()) {
    auto t = Topology::parse(p.spec);
    if (!t.ok()) {  // cannot happen: presets are unit-tested
      out += fmt::format("{:<20} {:<11} invalid: {}\n", p.name, p.spec, t.error().message());
      continue;
    }
    out +=
        fmt::format("{:<20} {:<11} {:>4} {:>5} {:>4} {:<3}  {}\n", p.name, p.spec, t->num_cpus(),
                    t->numa_nodes, t->llcs, t->threads_per_core > 1 ? "yes" : "no", p.description);
  }
  return out;
}

}  // namespace ktstr::topo
