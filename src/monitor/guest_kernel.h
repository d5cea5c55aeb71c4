// GuestKernel: everything the host needs to read a running guest kernel,
// put together once the guest has booted: guest RAM mapped (layout from
// QEMU's memory tree), the kernel's symbols (KALLSYMS from the guest, or a
// System.map in the cache entry), its BTF (cache entry), the address
// translation (KERN_ADDRS + page tables) and the scheduler-state reader.
// Shared by the monitor (read-only use) and the freeze coordinator (writes
// while the VM is stopped).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "guestmem/kernel_space.h"
#include "guestmem/phys_memory.h"
#include "ksyms/btf.h"
#include "ksyms/symbols.h"
#include "monitor/sched_reader.h"
#include "util/result.h"

namespace ktstr::monitor {

struct GuestKernelInputs {
  std::vector<guestmem::RamRange> ram;  // from guestmem::query_ram_layout
  guestmem::Access access = guestmem::Access::kReadWrite;
  ksyms::SymbolTable symbols;
  std::filesystem::path btf;  // the cache entry's vmlinux.btf
  uint64_t phys_base = 0;     // KERN_ADDRS
  uint64_t page_offset_base = 0;
  uint32_t nr_cpus = 0;
};

struct GuestKernel {
  guestmem::PhysMemory memory;
  ksyms::SymbolTable symbols;
  ksyms::KernelBtf btf;
  std::unique_ptr<guestmem::KernelSpace> space;  // refers to `memory`
  std::unique_ptr<SchedReader> reader;
  std::vector<std::string> notes;  // what could not be set up, one line each

  // Maps RAM, loads BTF, finds init_top_pgt (or init_mm.pgd) and the paging
  // depth (checked by translating page_offset_base through the tables),
  // builds the reader. Errors name the missing input.
  static Result<std::unique_ptr<GuestKernel>> attach(GuestKernelInputs in);
};

}  // namespace ktstr::monitor
