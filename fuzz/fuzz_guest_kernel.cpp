// libFuzzer target: what the host reads of a hostile guest kernel — its
// kallsyms text, a BPF program's BTF blob copied out of guest memory, and
// guest RAM itself (page tables included) — through the host's parsers,
// BTF lookups, renderer and address translation.
//
// Input: [selector][rest]
//   selector % 3 == 0: rest is kallsyms text (and, zstd-compressed, a
//                      KALLSYMS blob);
//   selector % 3 == 1: rest is a BTF blob: lookups and render() of every
//                      type over the blob's own bytes;
//   selector % 3 == 2: rest is 64 KiB of guest RAM (zero padded): page
//                      walks of addresses taken from the RAM itself, with
//                      4 and 5 levels.
// Oracles, besides ASan/UBSan: nothing throws or traps; the symbol count
// adds up; render output stays within its node budget; a read that
// succeeds came from guest RAM.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "guestmem/kernel_space.h"
#include "guestmem/phys_memory.h"
#include "ksyms/btf.h"
#include "ksyms/render.h"
#include "ksyms/symbols.h"

namespace {

using namespace ktstr;

#define CHECK(cond)                                                                             \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "fuzz_guest_kernel: check failed: %s (line %d)\n", #cond, __LINE__); \
      __builtin_trap();                                                                         \
    }                                                                                           \
  } while (0)

void symbols(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ksyms::ParseStats stats;
  auto table = ksyms::SymbolTable::parse_kallsyms(text, &stats);
  CHECK(stats.symbols == table.size());
  (void)table.find("_text");
  (void)table.to_system_map(0x1000);
  (void)ksyms::SymbolTable::from_compressed_kallsyms({data, size}, 1u << 20);
}

void btf_blob(const uint8_t* data, size_t size) {
  auto b = ksyms::KernelBtf::from_bytes({data, size});
  if (!b.ok()) return;
  ksyms::RenderLimits limits;
  limits.max_nodes = 2000;
  limits.max_array_elems = 64;
  for (uint32_t id = 1; id < 64; ++id) {
    (void)b->type_name(id);
    (void)b->type_size(id);
    (void)b->field_of(id, "a.b[1].c");
    auto r = ksyms::render(*b, id, {data, size}, limits);
    if (r.ok()) CHECK(ksyms::count_nodes(*r) <= limits.max_nodes + 64);
  }
  (void)b->field("rq", "scx.local_dsq.nr");
  (void)b->enum_value("SCX_ENABLED");
}

void page_walks(const uint8_t* data, size_t size) {
  constexpr size_t kRam = 64 << 10;
  std::vector<uint8_t> image(kRam, 0);
  std::memcpy(image.data(), data, std::min(size, kRam));
  auto mem = guestmem::PhysMemory::from_image(std::move(image), 0, guestmem::Access::kReadOnly);
  auto u64_at = [&](size_t off) {
    uint64_t v = 0;
    if (off + 8 <= size) std::memcpy(&v, data + off, 8);
    return v;
  };
  for (unsigned levels : {4u, 5u}) {
    guestmem::KernelLayout l;
    l.phys_base = u64_at(0);
    l.page_offset_base = u64_at(8) | 0xff00000000000000ull;
    l.pgd_phys = u64_at(16) & (kRam - 1) & ~uint64_t{0xfff};
    l.paging_levels = levels;
    guestmem::KernelSpace space(mem, l);
    for (size_t off = 24; off + 8 <= std::min<size_t>(size, 24 + 8 * 32); off += 8) {
      const uint64_t kva = u64_at(off);
      auto pa = space.translate(kva);
      uint8_t buf[1];
      if (space.read(kva, buf).ok()) CHECK(pa.ok() && mem.contains(*pa, 1));
      (void)space.read_cstring(kva, 64);
    }
    (void)guestmem::detect_paging_levels(mem, l.pgd_phys, l.page_offset_base);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  switch (data[0] % 3) {
    case 0: symbols(data + 1, size - 1); break;
    case 1: btf_blob(data + 1, size - 1); break;
    default: page_walks(data + 1, size - 1); break;
  }
  return 0;
}
