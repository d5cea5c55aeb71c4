#include "topology/presets.h"

#include "util/edit_distance.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

#include "topology/detail/text.h"

namespace ktstr::topo {

namespace {

constexpr std::array<Preset, 24> kPresets = {{
    {"tiny-1llc", "1n1l4c1t", "4 CPUs sharing one LLC"},
    {"tiny-2llc", "1n2l2c1t", "4 CPUs in 2 LLCs"},
    {"odd-3llc", "1n3l3c1t", "3 LLCs of 3 cores: odd counts everywhere"},
    {"odd-5llc", "1n5l3c1t", "5 LLCs of 3 cores"},
    {"odd-7llc", "1n7l2c1t", "7 LLCs of 2 cores"},
    {"smt-2llc", "1n2l2c2t", "2 LLCs of 2 SMT-2 cores"},
    {"smt-3llc", "1n3l2c2t", "3 LLCs of 2 SMT-2 cores"},
    {"medium-4llc", "1n4l4c2t", "32 CPUs: 4 LLCs of 4 SMT-2 cores"},
    {"medium-8llc", "1n8l4c2t", "64 CPUs: 8 LLCs of 4 SMT-2 cores"},
    {"large-4llc", "1n4l16c2t", "128 CPUs: 4 big LLCs of 16 SMT-2 cores"},
    {"large-8llc", "1n8l8c2t", "128 CPUs: 8 LLCs of 8 SMT-2 cores"},
    {"near-max-llc", "1n15l8c2t", "240 CPUs in 15 LLCs"},
    {"max-cpu", "1n14l9c2t", "252 CPUs: the KVM/QEMU x86 maximum"},
    {"medium-4llc-nosmt", "1n4l8c1t", "32 CPUs: 4 LLCs of 8 cores, no SMT"},
    {"medium-8llc-nosmt", "1n8l8c1t", "64 CPUs: 8 LLCs of 8 cores, no SMT"},
    {"large-4llc-nosmt", "1n4l32c1t", "128 CPUs: 4 LLCs of 32 cores, no SMT"},
    {"large-8llc-nosmt", "1n8l16c1t", "128 CPUs: 8 LLCs of 16 cores, no SMT"},
    {"near-max-llc-nosmt", "1n15l16c1t", "240 CPUs in 15 LLCs, no SMT"},
    {"max-cpu-nosmt", "1n14l18c1t", "252 CPUs, no SMT: the KVM/QEMU x86 maximum"},
    {"numa2-4llc", "2n4l4c1t", "2 NUMA nodes of 2 LLCs, no SMT"},
    {"numa2-8llc", "2n8l8c2t", "128 CPUs: 2 NUMA nodes of 4 LLCs of 8 SMT-2 cores"},
    {"numa2-8llc-nosmt", "2n8l16c1t", "128 CPUs: 2 NUMA nodes of 4 LLCs, no SMT"},
    {"numa4-8llc", "4n8l4c1t", "4 NUMA nodes of 2 LLCs, no SMT"},
    {"numa4-12llc", "4n12l8c2t", "192 CPUs: 4 NUMA nodes of 3 LLCs of 8 SMT-2 cores"},
}};


}  // namespace

std::span<const Preset> presets() { return kPresets; }

const Preset* find_preset(std::string_view name) {
  for (const Preset& p : kPresets)
    if (p.name == name) return &p;
  return nullptr;
}

Result<Topology> preset(std::string_view name) {
  if (const Preset* p = find_preset(name)) {
    KTSTR_ASSIGN(Topology t, Topology::parse(p->spec), fmt::format("preset '{}'", p->name));
    return t;
  }
  const Preset* best = &kPresets[0];
  size_t best_d = SIZE_MAX;
  for (const Preset& p : kPresets) {
    size_t d = edit_distance(name, p.name);
    if (d < best_d) best_d = d, best = &p;
  }
  std::string hint = best_d <= 3 ? fmt::format("did you mean '{}'? ", best->name) : "";
  return invalid_argument(fmt::format(
      "unknown topology preset '{}'; {}valid names include tiny-1llc, smt-2llc, medium-4llc, "
      "numa2-4llc, max-cpu (see `ktstr topo --preset all`)",
      detail::one_line(name), hint));
}

}  // namespace ktstr::topo
