#include "monitor/guest_kernel.h"

#include <fmt/format.h>

namespace ktstr::monitor {

namespace {

// Guest-physical address of the kernel's top-level page table: the image
// symbol init_top_pgt, else the pointer in init_mm.pgd.
Result<uint64_t> find_pgd(const GuestKernel& k, const guestmem::KernelSpace& image_only) {
  if (auto pgt = k.symbols.find("init_top_pgt")) return image_only.image_to_phys(*pgt);
  KTSTR_ASSIGN(uint64_t init_mm, k.symbols.require("init_mm"), "no init_top_pgt either");
  KTSTR_ASSIGN(auto field, k.btf.field("mm_struct", "pgd"), "init_mm.pgd");
  KTSTR_ASSIGN(uint64_t pgd, image_only.read_u64(init_mm + field.offset), "reading init_mm.pgd");
  KTSTR_ASSIGN(uint64_t phys, image_only.translate(pgd), fmt::format("init_mm.pgd = {:#x}", pgd));
  return phys;
}

}  // namespace

Result<std::unique_ptr<GuestKernel>> GuestKernel::attach(GuestKernelInputs in) {
  auto k = std::make_unique<GuestKernel>();
  KTSTR_ASSIGN(k->memory, guestmem::PhysMemory::map(std::move(in.ram), in.access),
               "mapping guest RAM");
  KTSTR_ASSIGN(k->btf, ksyms::KernelBtf::load(in.btf), "loading the guest kernel's BTF");
  k->symbols = std::move(in.symbols);
  if (k->symbols.empty()) return not_found("attaching to the guest kernel: no kernel symbols");
  if (in.page_offset_base == 0)
    return invalid_argument(
        "attaching to the guest kernel: page_offset_base is unknown (KERN_ADDRS)");

  guestmem::KernelLayout layout{.phys_base = in.phys_base,
                                .page_offset_base = in.page_offset_base,
                                .paging_levels = guestmem::paging_levels_for(in.page_offset_base)};
  {
    // Image and direct map only, enough to find the page table.
    const guestmem::KernelSpace image_only(k->memory, layout);
    auto pgd = find_pgd(*k, image_only);
    if (pgd.ok()) {
      layout.pgd_phys = *pgd;
    } else {
      k->notes.push_back("no kernel page table: vmalloc/percpu-chunk addresses cannot be read (" +
                         pgd.error().message() + ")");
    }
  }
  if (layout.pgd_phys != 0) {
    auto levels = guestmem::detect_paging_levels(k->memory, layout.pgd_phys, in.page_offset_base);
    if (levels.ok()) {
      layout.paging_levels = *levels;
    } else {
      k->notes.push_back(fmt::format("paging depth guessed as {} levels from page_offset_base: {}",
                                     layout.paging_levels, levels.error().message()));
    }
  }
  k->space = std::make_unique<guestmem::KernelSpace>(k->memory, layout);

  uint32_t nr_cpus = in.nr_cpus;
  if (nr_cpus == 0) {
    // The guest knows: nr_cpu_ids.
    KTSTR_ASSIGN(uint64_t sym, k->symbols.require("nr_cpu_ids"), "number of guest CPUs not given");
    KTSTR_ASSIGN(nr_cpus, k->space->read_u32(sym), "reading nr_cpu_ids");
  }
  KTSTR_ASSIGN(SchedReader reader, SchedReader::create(k->symbols, k->btf, nr_cpus),
               "attaching to the guest kernel");
  k->reader = std::make_unique<SchedReader>(std::move(reader));
  return k;
}

}  // namespace ktstr::monitor
