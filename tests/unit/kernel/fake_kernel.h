// Synthetic kernels for tests: a tiny vmlinux ELF (with .text, .BTF and
// optionally a symbol table and an IKCONFIG blob), compressed in any
// format the kernel uses, wrapped in a minimal bzImage setup header.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "kernel/decompress.h"

namespace ktstr::kernel::test {

struct FakeElf {
  uint64_t text_addr = 0xffffffff81000000ull;
  std::vector<uint8_t> btf;             // empty = no .BTF section
  std::optional<uint64_t> text_symbol;  // adds .symtab with _text
  std::string ikconfig;                 // adds IKCFG_ST + gzip(config) + IKCFG_ED
  size_t text_size = 4096;
};

// Bytes that start with the BTF magic and header, then `n` filler bytes.
std::vector<uint8_t> fake_btf(size_t n);
std::vector<uint8_t> make_elf(const FakeElf& spec);
std::vector<uint8_t> compress(Compression c, const std::vector<uint8_t>& data);

struct FakeBzImage {
  std::vector<uint8_t> payload;  // compressed vmlinux
  uint32_t uncompressed_size = 0;
  std::string version = "6.99.0-test (tester@example) #1 SMP";
  uint8_t setup_sects = 1;
  uint16_t protocol = 0x020f;  // < 0x0208: no payload fields, found by scanning
  uint32_t payload_offset = 0x80;
};
std::vector<uint8_t> make_bzimage(const FakeBzImage& spec);

// A whole bzImage (zstd payload) around make_elf(spec).
std::vector<uint8_t> make_kernel(const FakeElf& spec, const std::string& version,
                                 Compression c = Compression::kZstd);

void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& data);

}  // namespace ktstr::kernel::test
