#include "guestmem/kernel_space.h"

#include <algorithm>

#include <fmt/format.h>

#include "guestmem/page_walk.h"

namespace ktstr::guestmem {

namespace {

constexpr uint64_t kKernelHalf4 = 0xffff800000000000ull;
constexpr uint64_t kKernelHalf5 = 0xff00000000000000ull;

// Bytes from `kva` to the end of its 4 KiB page.
uint64_t to_page_end(uint64_t kva) { return kPageSize - (kva & (kPageSize - 1)); }

}  // namespace

unsigned paging_levels_for(uint64_t page_offset_base) {
  return page_offset_base < kKernelHalf4 ? 5 : 4;
}

bool is_kernel_half(uint64_t kva, unsigned levels) {
  if (levels == 4) return kva >= kKernelHalf4;
  if (levels == 5) return kva >= kKernelHalf5;
  return false;
}

Result<unsigned> detect_paging_levels(const PhysMemory& mem, uint64_t pgd_phys,
                                      uint64_t page_offset_base) {
  std::string why;
  for (unsigned levels : {5u, 4u}) {
    if (!is_kernel_half(page_offset_base, levels)) continue;
    auto m = walk_page_tables(mem, pgd_phys, levels, page_offset_base);
    if (m.ok() && m->phys == 0) return levels;
    why += fmt::format("; {} levels: {}", levels,
                       m.ok() ? fmt::format("maps to {:#x}", m->phys) : m.error().message());
  }
  return not_found(fmt::format(
      "no paging depth maps page_offset_base {:#x} to guest-physical 0 through the table at {:#x}{}",
      page_offset_base, pgd_phys, why));
}

KernelSpace::KernelSpace(const PhysMemory& mem, KernelLayout layout)
    : mem_(mem), layout_(layout), direct_map_size_(layout.direct_map_size) {
  if (direct_map_size_ == 0 && !mem.ranges().empty())
    direct_map_size_ = mem.ranges().back().guest_phys + mem.ranges().back().size;
}

Result<KernelSpace::Span> KernelSpace::translate_span(uint64_t kva) const {
  if (!is_kernel_half(kva, layout_.paging_levels))
    return invalid_argument(fmt::format("{:#x} is not a kernel address ({}-level paging)", kva,
                                        layout_.paging_levels));
  if (kva >= kStartKernelMap && kva - kStartKernelMap < kKernelImageSize) {
    // Modulo 2^64, as the kernel's own __phys_addr(): with KASLR the image
    // may sit physically below its link address, so phys_base "is negative"
    // (e.g. 0xfffffffff5c00000). Whether the result lies in guest RAM is
    // PhysMemory's check.
    const uint64_t off = kva - kStartKernelMap;
    return Span{layout_.phys_base + off, kKernelImageSize - off};
  }
  if (layout_.page_offset_base != 0 && kva >= layout_.page_offset_base &&
      kva - layout_.page_offset_base < direct_map_size_) {
    const uint64_t off = kva - layout_.page_offset_base;
    return Span{off, direct_map_size_ - off};
  }
  if (layout_.pgd_phys == 0)
    return not_found(fmt::format(
        "{:#x} is outside the kernel image and the direct map, and no page table is known", kva));
  ++walks_;
  KTSTR_ASSIGN(PageMapping m, walk_page_tables(mem_, layout_.pgd_phys, layout_.paging_levels, kva));
  return Span{m.phys, m.page_size - (m.phys & (m.page_size - 1))};
}

Result<uint64_t> KernelSpace::translate(uint64_t kva) const {
  KTSTR_ASSIGN(Span s, translate_span(kva));
  return s.phys;
}

Result<uint64_t> KernelSpace::image_to_phys(uint64_t kva) const {
  if (kva < kStartKernelMap || kva - kStartKernelMap >= kKernelImageSize)
    return invalid_argument(fmt::format("{:#x} is not in the kernel image mapping", kva));
  return layout_.phys_base + (kva - kStartKernelMap);
}

Status KernelSpace::read(uint64_t kva, std::span<uint8_t> out) const {
  size_t done = 0;
  while (done < out.size()) {
    const uint64_t at = kva + done;
    auto span = translate_span(at);
    if (!span.ok())
      return std::move(span).error().context(fmt::format("reading kernel {:#x} (+{})", kva,
                                                         out.size()));
    const size_t n = static_cast<size_t>(std::min<uint64_t>(out.size() - done, span->contiguous));
    auto st = mem_.read(span->phys, out.subspan(done, n));
    if (!st.ok())
      return std::move(st).error().context(fmt::format("reading kernel {:#x} (+{})", at, n));
    done += n;
  }
  return {};
}

Result<uint64_t> KernelSpace::read_uint(uint64_t kva, unsigned width) const {
  if (width != 1 && width != 2 && width != 4 && width != 8)
    return invalid_argument(
        fmt::format("integer width {} at kernel {:#x} is not 1, 2, 4 or 8", width, kva));
  uint8_t bytes[8] = {};
  KTSTR_TRY(read(kva, std::span<uint8_t>(bytes, width)));
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i) v |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  return v;
}

Result<uint64_t> KernelSpace::read_u64(uint64_t kva) const { return read_uint(kva, 8); }

Result<uint32_t> KernelSpace::read_u32(uint64_t kva) const {
  KTSTR_ASSIGN(uint64_t v, read_uint(kva, 4));
  return static_cast<uint32_t>(v);
}

Result<std::string> KernelSpace::read_cstring(uint64_t kva, size_t max) const {
  std::string s;
  uint8_t chunk[256];
  while (s.size() < max) {
    const uint64_t at = kva + s.size();
    // Never read past the page the string is known to reach into.
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>({max - s.size(), to_page_end(at), sizeof chunk}));
    KTSTR_TRY(read(at, std::span<uint8_t>(chunk, n)),
              fmt::format("reading string at kernel {:#x}", kva));
    const uint8_t* nul = std::find(chunk, chunk + n, uint8_t{0});
    s.append(reinterpret_cast<const char*>(chunk), static_cast<size_t>(nul - chunk));
    if (nul != chunk + n) break;
  }
  return s;
}

Status KernelSpace::write(uint64_t kva, std::span<const uint8_t> data) const {
  if (!mem_.writable())
    return invalid_argument(
        fmt::format("writing kernel {:#x} (+{}): guest RAM is mapped read-only", kva, data.size()));
  // Two passes: an unmapped page anywhere in the span fails the write
  // before any byte is written.
  for (bool dry_run : {true, false}) {
    size_t done = 0;
    while (done < data.size()) {
      const uint64_t at = kva + done;
      auto span = translate_span(at);
      if (!span.ok())
        return std::move(span).error().context(
            fmt::format("writing kernel {:#x} (+{})", kva, data.size()));
      const size_t n =
          static_cast<size_t>(std::min<uint64_t>(data.size() - done, span->contiguous));
      if (!dry_run) {
        auto st = mem_.write(span->phys, data.subspan(done, n));
        if (!st.ok())
          return std::move(st).error().context(fmt::format("writing kernel {:#x} (+{})", at, n));
      }
      done += n;
    }
  }
  return {};
}

}  // namespace ktstr::guestmem
