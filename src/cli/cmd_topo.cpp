// `ktstr topo`: show the host topology, a preset (or all of them), or any
// NnNlNcNt topology, as text or --json.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "topology/describe.h"
#include "topology/host.h"
#include "topology/json.h"
#include "topology/presets.h"
#include "topology/topology.h"

namespace ktstr::cli {

namespace {

struct TopoOptions {
  std::string preset;
  std::string topology;
  std::string sysfs = "/sys";
  bool json = false;
};

void print(const std::string& text) { std::fputs(text.c_str(), stdout); }

Result<int> show_all_presets(const TopoOptions& o) {
  if (!o.json) {
    print(topo::preset_table());
    return 0;
  }
  nlohmann::json all = nlohmann::json::array();
  for (const topo::Preset& p : topo::presets()) {
    KTSTR_ASSIGN(topo::Topology t, topo::preset(p.name));
    nlohmann::json j = topo::to_json(t);
    j["name"] = p.name;
    j["description"] = p.description;
    all.push_back(std::move(j));
  }
  print(all.dump(2) + "\n");
  return 0;
}

Result<int> show_preset(const TopoOptions& o) {
  if (o.preset == "all") return show_all_presets(o);
  KTSTR_ASSIGN(topo::Topology t, topo::preset(o.preset));
  const topo::Preset* p = topo::find_preset(o.preset);
  if (o.json) {
    nlohmann::json j = topo::to_json(t);
    j["name"] = p->name;
    j["description"] = p->description;
    print(j.dump(2) + "\n");
  } else {
    print(fmt::format("preset {}: {}\n", p->name, p->description) + topo::describe(t));
  }
  return 0;
}

Result<int> run_topo(const TopoOptions& o) {
  if (!o.preset.empty()) return show_preset(o);
  if (!o.topology.empty()) {
    KTSTR_ASSIGN(topo::Topology t, topo::Topology::parse(o.topology));
    print(o.json ? topo::to_json(t).dump(2) + "\n" : topo::describe(t));
    return 0;
  }
  KTSTR_ASSIGN(topo::HostTopology h, topo::read_host_topology(o.sysfs));
  print(o.json ? topo::to_json(h).dump(2) + "\n" : topo::describe(h));
  return 0;
}

}  // namespace

void add_topo_command(CLI::App& app, Runner& run) {
  auto opts = std::make_shared<TopoOptions>();
  CLI::App* cmd = app.add_subcommand(
      "topo", "Show the host CPU topology, a named preset, or an NnNlNcNt topology");
  auto* preset = cmd->add_option("--preset", opts->preset,
                                 "Show a named preset, or 'all' for the preset table");
  auto* topology = cmd->add_option("--topology", opts->topology,
                                   "Show a topology given as NnNlNcNt, e.g. 1n2l4c2t");
  preset->excludes(topology);
  cmd->add_option("--sysfs-root", opts->sysfs, "Read the host topology from this sysfs tree")
      ->group("");  // for tests and debugging
  cmd->add_flag("--json", opts->json, "Print JSON instead of text");
  cmd->callback([opts, &run] { run = [opts]() -> Result<int> { return run_topo(*opts); }; });
}

}  // namespace ktstr::cli
