// SyntheticRam: a guest-physical image the tests fill by hand, with x86-64
// page tables built entry by entry (tables come from a bump allocator).
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "guestmem/page_walk.h"
#include "guestmem/phys_memory.h"

namespace ktstr::guestmem::testing {

class SyntheticRam {
 public:
  // `size` bytes of RAM at guest-physical 0; page tables are allocated
  // upwards from `tables_at`.
  SyntheticRam(uint64_t size, uint64_t tables_at) : bytes_(size), next_table_(tables_at) {}

  uint64_t alloc_table() {
    uint64_t pa = next_table_;
    next_table_ += 4096;
    return pa;
  }
  void put_u64(uint64_t pa, uint64_t v) { std::memcpy(&bytes_.at(pa + 7) - 7, &v, 8); }
  uint64_t get_u64(uint64_t pa) const {
    uint64_t v;
    std::memcpy(&v, &bytes_.at(pa + 7) - 7, 8);
    return v;
  }
  void put_bytes(uint64_t pa, std::string_view s) {
    std::memcpy(&bytes_.at(pa + s.size() - 1) - (s.size() - 1), s.data(), s.size());
  }

  // Maps `va` -> `pa` with a `page_size` leaf (4 KiB, 2 MiB or 1 GiB),
  // creating missing intermediate tables under `pgd`. `leaf_flags` are
  // or-ed into the leaf (present and, for huge pages, PS are added).
  void map(uint64_t pgd, unsigned levels, uint64_t va, uint64_t pa, uint64_t page_size,
           uint64_t leaf_flags = 0) {
    uint64_t table = pgd;
    for (unsigned level = 0; level < levels; ++level) {
      const unsigned shift = 12 + 9 * (levels - 1 - level);
      const uint64_t slot = table + ((va >> shift) & 0x1ff) * 8;
      if ((1ull << shift) == page_size) {
        uint64_t e = pa | kPtePresent | leaf_flags;
        if (page_size != 4096) e |= kPtePageSize;
        put_u64(slot, e);
        return;
      }
      uint64_t e = get_u64(slot);
      if ((e & kPtePresent) == 0) {
        e = alloc_table() | kPtePresent | 0x2 /* RW */;
        put_u64(slot, e);
      }
      table = e & kPtePhysMask;
    }
  }

  PhysMemory memory(Access access = Access::kReadWrite) const {
    return PhysMemory::from_image(bytes_, 0, access);
  }
  std::vector<uint8_t>& bytes() { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
  uint64_t next_table_;
};

}  // namespace ktstr::guestmem::testing
