// KernelSpace: reads (and, while frozen, writes) guest KERNEL virtual
// memory through PhysMemory. Translation, in order:
//   - kernel text/data/bss: [__START_KERNEL_map, +1 GiB) -> kva -
//     __START_KERNEL_map + phys_base (KERN_ADDRS; KASLR rules of the wire);
//   - the direct map: [page_offset_base, + direct_map_size) -> kva -
//     page_offset_base;
//   - everything else (vmalloc, percpu chunks, BPF maps): a walk of the
//     guest page tables from the kernel's top-level table (init_mm.pgd),
//     4-level or 5-level, honouring 1 GiB and 2 MiB pages.
// A read that spans pages is translated page by page. Every failure is an
// error value naming the address and the step that failed ("pgd entry not
// present", "outside guest RAM"), never a crash, whatever the guest wrote.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "guestmem/phys_memory.h"
#include "util/result.h"

namespace ktstr::guestmem {

inline constexpr uint64_t kStartKernelMap = 0xffffffff80000000ull;
inline constexpr uint64_t kKernelImageSize = 1ull << 30;  // KERNEL_IMAGE_SIZE with KASLR
inline constexpr uint64_t kPageSize = 4096;

struct KernelLayout {
  uint64_t phys_base = 0;         // from KERN_ADDRS
  uint64_t page_offset_base = 0;  // from KERN_ADDRS
  // Size of the direct map window to trust without a walk; 0 = the end of
  // the highest guest RAM range.
  uint64_t direct_map_size = 0;
  // Guest-physical address of the top-level page table (init_top_pgt);
  // 0 = no walks (vmalloc addresses then fail with a clear error).
  uint64_t pgd_phys = 0;
  // 4 or 5. Guess with paging_levels_for() when the kernel does not say.
  unsigned paging_levels = 4;
};

// 5 when the direct map lies below the 4-level kernel half
// (page_offset_base < 0xffff800000000000), else 4.
unsigned paging_levels_for(uint64_t page_offset_base);

// True for addresses in the kernel half of the canonical address space for
// `levels` (>= 0xffff800000000000 for 4 levels, >= 0xff00000000000000 for 5).
bool is_kernel_half(uint64_t kva, unsigned levels);

// The paging depth (5, else 4) whose walk of the table at `pgd_phys` maps
// `page_offset_base` to guest-physical 0; an error when neither does.
Result<unsigned> detect_paging_levels(const PhysMemory& mem, uint64_t pgd_phys,
                                      uint64_t page_offset_base);

class KernelSpace {
 public:
  KernelSpace(const PhysMemory& mem, KernelLayout layout);

  const KernelLayout& layout() const { return layout_; }
  const PhysMemory& memory() const { return mem_; }

  // Guest-physical address of `kva` (one byte).
  Result<uint64_t> translate(uint64_t kva) const;
  // Symbol in the kernel image (text/data/bss) -> physical, without a walk.
  Result<uint64_t> image_to_phys(uint64_t kva) const;

  Status read(uint64_t kva, std::span<uint8_t> out) const;
  Result<uint64_t> read_u64(uint64_t kva) const;
  Result<uint32_t> read_u32(uint64_t kva) const;
  Result<uint64_t> read_uint(uint64_t kva, unsigned width) const;
  // Up to `max` bytes of a NUL-terminated string (without the NUL).
  Result<std::string> read_cstring(uint64_t kva, size_t max) const;
  // Fails unless the memory is writable.
  Status write(uint64_t kva, std::span<const uint8_t> data) const;

  // Translations done by page walks since construction (for benchmarks).
  uint64_t walks() const { return walks_; }

 private:
  // Where `kva` lives and how many bytes from it are contiguous in
  // guest-physical memory (to the end of its page or window).
  struct Span {
    uint64_t phys = 0;
    uint64_t contiguous = 0;
  };
  Result<Span> translate_span(uint64_t kva) const;

  const PhysMemory& mem_;
  KernelLayout layout_;
  uint64_t direct_map_size_ = 0;  // layout_.direct_map_size, or derived from RAM
  mutable uint64_t walks_ = 0;
};

}  // namespace ktstr::guestmem
