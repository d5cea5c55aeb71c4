// Renders bytes of a BTF-typed object as JSON with field names: structs and
// unions as objects, arrays as lists (char arrays as strings when
// printable), integers as numbers (u64 above 2^53 too: nlohmann keeps
// uint64), enums as their enumerator name (or the number), pointers as
// "0x..." text, bitfields decoded. Bounded: depth, array elements and total
// output nodes are limited and truncation is marked ("…": N more), so a
// hostile BTF or a huge array cannot blow up the host.
//
// Markers: a list cut short ends with {"…": N}; an object cut short by
// max_nodes gets the key "…": N (members left out); a value below
// max_depth is the string "…". Anonymous struct/union members are
// flattened into their parent (as C names them). A DATASEC (.bss/.data map
// value) renders as {var name: value}. Text markers: "<opaque>" (forward
// declaration), "<function>", "<void>" (void or a dangling type id),
// "<out of bounds at N>" (the BTF places a member beyond `bytes`: nothing
// past `bytes` is ever read). Integers above 64 bits and long doubles are
// "0x..." hex; bytes are read little-endian (x86-64 guests).
#pragma once

#include <cstdint>
#include <span>

#include <nlohmann/json.hpp>

#include "ksyms/btf.h"
#include "util/result.h"

namespace ktstr::ksyms {

struct RenderLimits {
  unsigned max_depth = 16;
  size_t max_array_elems = 1024;
  size_t max_nodes = 100000;
};

// Fails only if `type_id` is not a valid type or `bytes` is shorter than
// the type's size.
Result<nlohmann::json> render(const KernelBtf& btf, uint32_t type_id, std::span<const uint8_t> bytes,
                              const RenderLimits& limits = {});

// JSON nodes in `j` (itself and every nested value): the unit of
// RenderLimits::max_nodes, for callers that share one budget over many
// render() calls.
size_t count_nodes(const nlohmann::json& j);

}  // namespace ktstr::ksyms
