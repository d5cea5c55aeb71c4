#include "guestmem/page_walk.h"

#include <fmt/format.h>

namespace ktstr::guestmem {

namespace {

// Level names as Linux uses them; 4-level kernels fold the p4d away.
constexpr const char* kLevelNames5[] = {"pgd", "p4d", "pud", "pmd", "pte"};
constexpr const char* kLevelNames4[] = {"pgd", "pud", "pmd", "pte"};

}  // namespace

Result<PageMapping> walk_page_tables(const PhysMemory& mem, uint64_t pgd_phys, unsigned levels,
                                     uint64_t va) {
  if (levels != 4 && levels != 5)
    return invalid_argument(fmt::format("page walk of {:#x}: {} paging levels", va, levels));
  const char* const* names = levels == 5 ? kLevelNames5 : kLevelNames4;
  uint64_t table = pgd_phys & kPtePhysMask;
  for (unsigned level = 0; level < levels; ++level) {
    // The entry at this level maps 2^shift bytes: 4 KiB at the last level.
    const unsigned shift = 12 + 9 * (levels - 1 - level);
    const uint64_t index = (va >> shift) & 0x1ff;
    auto entry_or = mem.read_u64(table + index * 8);
    if (!entry_or.ok())
      return std::move(entry_or).error().context(
          fmt::format("page walk of {:#x}: reading {} table at {:#x}", va, names[level], table));
    const uint64_t entry = *entry_or;
    if ((entry & kPtePresent) == 0)
      return not_found(
          fmt::format("page walk of {:#x}: {} entry {:#x} not present", va, names[level], entry));
    const bool last = level + 1 == levels;
    const bool huge_allowed = shift == 30 || shift == 21;  // pud, pmd
    if (last || (huge_allowed && (entry & kPtePageSize) != 0)) {
      // For huge pages bit 12 is PAT, so mask to the page size.
      const uint64_t page_size = 1ull << shift;
      const uint64_t frame = entry & kPtePhysMask & ~(page_size - 1);
      return PageMapping{frame | (va & (page_size - 1)), page_size};
    }
    if ((entry & kPtePageSize) != 0)
      return protocol_error(fmt::format("page walk of {:#x}: {} entry {:#x} has the reserved PS bit",
                                        va, names[level], entry));
    table = entry & kPtePhysMask;
  }
  return Error(Errc::kInternal, "unreachable");  // the loop always returns
}

}  // namespace ktstr::guestmem
