// Kernel images: recognise an x86 bzImage, pull the compressed vmlinux out
// of it, and read what ktstr needs from that ELF (BTF, link-time _text, and
// the embedded config when CONFIG_IKCONFIG is on).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace ktstr::kernel {

// The fields of the x86 boot protocol setup header that ktstr reads.
struct BzImageHeader {
  uint8_t setup_sects = 0;      // 0x1f1 (0 means 4)
  uint16_t protocol = 0;        // 0x206, e.g. 0x020f
  uint32_t payload_offset = 0;  // 0x248, from the protected-mode code start
  uint32_t payload_length = 0;  // 0x24c, includes the trailing 4-byte size
  // The kernel_version string: "7.2.13+deb14-cloud-amd64 (...) #1 SMP ...".
  std::string version;
  size_t protected_mode_offset() const { return (size_t(setup_sects ? setup_sects : 4) + 1) * 512; }
  // First word of `version`: the kernel release ("7.2.13+deb14-cloud-amd64").
  std::string release() const;
};

// Cheap check of the boot sector signature and "HdrS" magic.
bool looks_like_bzimage(const std::filesystem::path& path);
Result<BzImageHeader> parse_bzimage_header(std::span<const uint8_t> image);
// Reads the first few KiB of `path`; error "<path> is not a Linux kernel image (no bzImage
// header)".
Result<BzImageHeader> read_bzimage_header(const std::filesystem::path& path);

// Decompresses the vmlinux ELF inside a bzImage (gzip, xz, zstd, lz4).
Result<std::vector<uint8_t>> extract_vmlinux(const std::filesystem::path& bzimage);
Result<std::vector<uint8_t>> extract_vmlinux(std::span<const uint8_t> bzimage);

struct ElfInfo {
  std::vector<uint8_t> btf;                   // the .BTF section, empty if none
  std::optional<uint64_t> text_section_addr;  // sh_addr of .text
  // Link-time address of _text: from the symbol table when there is one,
  // else (x86-64, where they are equal) the .text section address. A
  // bzImage's vmlinux is stripped, so the fallback is the usual case.
  std::optional<uint64_t> link_text;
  bool link_text_from_symbol = false;
  std::string arch;  // "x86_64", "i386", ... from e_machine
};

// Reads a little-endian vmlinux ELF held in memory.
Result<ElfInfo> inspect_vmlinux(std::span<const uint8_t> vmlinux);

// The .config embedded by CONFIG_IKCONFIG ("IKCFG_ST" + gzip), if present.
std::optional<std::string> find_ikconfig(std::span<const uint8_t> vmlinux);

}  // namespace ktstr::kernel
