// Named topology presets ("medium-4llc" = 1n4l4c2t, ...) covering tiny,
// odd-LLC, SMT, large, near-limit and multi-NUMA shapes.
#pragma once

#include <span>
#include <string_view>

#include "topology/topology.h"
#include "util/result.h"

namespace ktstr::topo {

struct Preset {
  std::string_view name;
  std::string_view spec;  // NnNlNcNt
  std::string_view description;
};

// All presets, in display order.
std::span<const Preset> presets();
// The preset's parsed topology; an unknown name lists some valid ones.
Result<Topology> preset(std::string_view name);
// The Preset record, or nullptr.
const Preset* find_preset(std::string_view name);

}  // namespace ktstr::topo
