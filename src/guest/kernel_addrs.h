// Kernel address discovery for the KERN_ADDRS message: the host needs the
// KASLR-randomised physical and virtual bases to read guest kernel memory.
// Parsers take text so they can be tested without a kernel.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

namespace ktstr::guest {

// x86-64 __START_KERNEL_map: where the kernel image mapping starts.
inline constexpr uint64_t kStartKernelMap = 0xffffffff80000000ull;

// Address of `symbol` in /proc/kallsyms text ("ffffffff81000000 T _text").
// Lines that do not parse are skipped. nullopt if absent or shown as 0
// (kptr_restrict hides addresses as zeros).
std::optional<uint64_t> find_kallsyms_symbol(std::string_view kallsyms, std::string_view symbol);

// Start of the first "Kernel code" range in /proc/iomem text (nested, indented
// under "System RAM"). nullopt if absent or zero (non-root sees zeros).
std::optional<uint64_t> find_iomem_kernel_code(std::string_view iomem);

// phys_base as the kernel defines it: __pa(x) = x - __START_KERNEL_map + phys_base
// for any kernel-image address x. Applying that to _text, whose physical
// address is the start of "Kernel code":
//   phys_base = kernel_code_phys - (runtime_text - __START_KERNEL_map).
// Runtime values fold in both KASLR offsets, so the link-time address is not
// needed. nullopt if runtime_text is below the kernel map (not x86-64 layout).
std::optional<uint64_t> compute_phys_base(uint64_t kernel_code_phys, uint64_t runtime_text);

// Reads a little-endian u64 at kernel virtual address `vaddr` through an ELF
// core file such as /proc/kcore (its PT_LOAD segments map virtual addresses).
Result<uint64_t> read_kcore_u64(const std::filesystem::path& kcore, uint64_t vaddr);

// What KERN_ADDRS reports; nullopt = unknown.
struct KernAddrs {
  std::optional<uint64_t> phys_base;
  std::optional<uint64_t> page_offset_base;  // value of the page_offset_base variable
  std::optional<uint64_t> kernel_text;       // runtime virtual address of _text
  std::string notes;  // why fields are unknown ("; "-separated), for a LIFECYCLE message
};

// All three from /proc/kcore's program headers alone (the text segment and
// a direct-map RAM segment); nullopt when any is missing.
std::optional<KernAddrs> kern_addrs_from_kcore(const std::filesystem::path& kcore);

// Gathers KernAddrs from <proc_root>/kcore's headers, else from
// <proc_root>/kallsyms, /iomem and /kcore.
// page_offset_base is a variable (randomised with CONFIG_RANDOMIZE_MEMORY):
// kallsyms gives its address, so its value is read through kcore.
KernAddrs collect_kern_addrs(const std::filesystem::path& proc_root = "/proc");

}  // namespace ktstr::guest
