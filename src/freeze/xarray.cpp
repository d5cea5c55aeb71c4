#include "freeze/xarray.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <unordered_set>

namespace ktstr::freeze {

namespace {

constexpr unsigned kChunkShift = 6;  // XA_CHUNK_SHIFT
constexpr size_t kMaxNotes = 16;     // a hostile tree must not flood the report

bool is_internal(uint64_t e) { return (e & 3) == 2; }
bool is_node(uint64_t e) { return is_internal(e) && e > 4096; }
bool is_value(uint64_t e) { return (e & 1) != 0; }

struct Frame {
  uint64_t node;      // struct xa_node * (untagged)
  uint64_t base;      // first index covered by the node
  unsigned depth;     // 1 for the head node
  int parent_shift;   // -1 for the head node
};

}  // namespace

Result<XaNodeLayout> XaNodeLayout::from_btf(const ksyms::KernelBtf& btf) {
  XaNodeLayout l;
  KTSTR_ASSIGN(auto shift, btf.field("xa_node", "shift"), "xarray layout");
  KTSTR_ASSIGN(auto slots, btf.field("xa_node", "slots"), "xarray layout");
  if (shift.size != 1) return invalid_argument("xarray layout: xa_node.shift is not one byte");
  if (slots.size == 0 || slots.size % 8 != 0 || slots.size / 8 > 64)
    return invalid_argument(
        fmt::format("xarray layout: xa_node.slots has an unexpected size {}", slots.size));
  l.shift = shift.offset;
  l.slots = slots.offset;
  l.nr_slots = static_cast<uint32_t>(slots.size / 8);
  return l;
}

XaWalk walk_xarray(const guestmem::KernelSpace& space, uint64_t head, const XaNodeLayout& layout,
                   const XaLimits& limits) {
  XaWalk out;
  auto note = [&out](std::string what) {
    if (out.notes.size() < kMaxNotes) out.notes.push_back(std::move(what));
  };
  auto add_entry = [&](uint64_t index, uint64_t e) {
    if (out.entries.size() >= limits.max_entries) {
      note(fmt::format("xarray: more than {} entries, rest skipped", limits.max_entries));
      return false;
    }
    out.entries.push_back({index, e});
    return true;
  };

  if (head == 0 || is_value(head)) return out;
  if (!is_node(head)) {
    if (!is_internal(head)) add_entry(0, head);  // a lone entry lives at index 0
    return out;
  }

  std::unordered_set<uint64_t> visited;
  std::vector<Frame> stack{{head - 2, 0, 1, -1}};
  std::array<uint8_t, 64 * 8> slots{};
  bool full = false;
  while (!stack.empty() && !full) {
    Frame f = stack.back();
    stack.pop_back();
    if (f.depth > limits.max_depth) {
      note(fmt::format("xarray: node 0x{:x} deeper than {} levels, skipped", f.node, limits.max_depth));
      continue;
    }
    if (out.nodes >= limits.max_nodes) {
      note(fmt::format("xarray: more than {} nodes, walk stopped", limits.max_nodes));
      break;
    }
    if (!visited.insert(f.node).second) {
      note(fmt::format("xarray: node 0x{:x} reached twice (a loop), skipped", f.node));
      continue;
    }
    ++out.nodes;
    auto shift_r = space.read_uint(f.node + layout.shift, 1);
    std::span<uint8_t> slot_bytes(slots.data(), layout.nr_slots * 8);
    if (!shift_r.ok()) {
      note(fmt::format("xarray: node 0x{:x}: {}", f.node, shift_r.error().message()));
      continue;
    }
    if (auto st = space.read(f.node + layout.slots, slot_bytes); !st.ok()) {
      note(fmt::format("xarray: node 0x{:x}: {}", f.node, st.error().message()));
      continue;
    }
    const int shift = static_cast<int>(*shift_r);
    const bool shift_ok = f.parent_shift < 0
                              ? (shift % kChunkShift == 0 && shift < 64)
                              : shift == f.parent_shift - static_cast<int>(kChunkShift);
    if (!shift_ok) {
      note(fmt::format("xarray: node 0x{:x} has impossible shift {}, skipped", f.node, shift));
      continue;
    }
    for (uint32_t i = 0; i < layout.nr_slots && !full; ++i) {
      uint64_t e = 0;
      for (int b = 7; b >= 0; --b) e = (e << 8) | slot_bytes[i * 8 + b];
      const uint64_t index = f.base + (static_cast<uint64_t>(i) << shift);
      if (e == 0 || is_value(e)) continue;
      if (is_node(e)) {
        if (shift == 0) {
          note(fmt::format("xarray: leaf node 0x{:x} slot {} holds a node pointer, skipped", f.node, i));
          continue;
        }
        stack.push_back({e - 2, index, f.depth + 1, shift});
        continue;
      }
      if (is_internal(e)) continue;  // sibling, retry or zero entry
      // In an inner node this is a multi-index entry: reported at its first index.
      full = !add_entry(index, e);
    }
  }
  // Depth-first from a stack: sort into index order.
  std::sort(out.entries.begin(), out.entries.end(),
            [](const XaEntry& a, const XaEntry& b) { return a.index < b.index; });
  return out;
}

}  // namespace ktstr::freeze
