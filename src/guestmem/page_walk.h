// x86-64 page-table walk over guest-physical memory: the translation the
// MMU does, for the host to follow guest kernel pointers outside the
// kernel image and the direct map (vmalloc, percpu, BPF maps). 4-level and
// 5-level tables, 1 GiB (pud) and 2 MiB (pmd) pages. The walk has a fixed
// depth and reads every entry through PhysMemory, so garbage or
// self-referencing tables give an error or a wrong-but-bounded answer,
// never a loop or a host crash.
#pragma once

#include <cstdint>

#include "guestmem/phys_memory.h"
#include "util/result.h"

namespace ktstr::guestmem {

inline constexpr uint64_t kPtePresent = 1ull << 0;
inline constexpr uint64_t kPtePageSize = 1ull << 7;  // PS: a leaf at pud/pmd level
inline constexpr uint64_t kPtePhysMask = 0x000ffffffffff000ull;  // bits 12..51

struct PageMapping {
  uint64_t phys = 0;       // guest-physical address of the byte asked for
  uint64_t page_size = 0;  // 4 KiB, 2 MiB or 1 GiB: the bytes that follow
                           // up to the page end are contiguous too
};

// Translates `va` through the table at `pgd_phys` with `levels` (4 or 5)
// levels. Errors name the address and the level: "0x... : pmd entry
// 0x... not present".
Result<PageMapping> walk_page_tables(const PhysMemory& mem, uint64_t pgd_phys, unsigned levels,
                                     uint64_t va);

}  // namespace ktstr::guestmem
