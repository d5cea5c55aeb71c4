// Walks a guest kernel XArray (include/linux/xarray.h) read out of guest
// memory, e.g. the IDR behind map_idr. Entry encoding: NULL = empty; bit 0
// set = a value entry (skipped); low bits 0b10 = internal: above 4096 a
// pointer to a struct xa_node (+2), below that a sibling/retry/zero entry
// (skipped); anything else is a pointer stored by the user.
// The guest is hostile: depth, node count and revisits are bounded, each
// node's shift must be its parent's minus 6, and a bad node stops that
// branch with a note rather than the whole walk.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "guestmem/kernel_space.h"
#include "ksyms/btf.h"
#include "util/result.h"

namespace ktstr::freeze {

// Offsets of struct xa_node members (from the vmlinux BTF).
struct XaNodeLayout {
  uint64_t shift = 0;   // unsigned char shift
  uint64_t slots = 0;   // void *slots[XA_CHUNK_SIZE]
  uint32_t nr_slots = 64;
  static Result<XaNodeLayout> from_btf(const ksyms::KernelBtf& btf);
};

struct XaLimits {
  unsigned max_depth = 11;     // 64-bit indices, 6 bits per level
  size_t max_nodes = 100000;
  size_t max_entries = 65536;
};

struct XaEntry {
  uint64_t index = 0;
  uint64_t pointer = 0;  // the stored entry (a kernel pointer)
};

struct XaWalk {
  std::vector<XaEntry> entries;  // ascending index
  size_t nodes = 0;              // xa_nodes visited
  std::vector<std::string> notes;  // branches cut short, and why
};

// `head` is the xarray's xa_head value.
XaWalk walk_xarray(const guestmem::KernelSpace& space, uint64_t head, const XaNodeLayout& layout,
                   const XaLimits& limits = {});

}  // namespace ktstr::freeze
