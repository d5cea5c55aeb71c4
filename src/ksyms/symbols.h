// SymbolTable: kernel symbol name -> address, from the guest's
// /proc/kallsyms (sent once at boot as the KALLSYMS wire message, zstd
// compressed) or from a real System.map of a self-built kernel. Input is
// untrusted: malformed lines are skipped and counted, never fatal, and the
// decompressed size is bounded.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "util/result.h"

namespace ktstr::ksyms {

struct ParseStats {
  uint64_t lines = 0;
  uint64_t symbols = 0;
  uint64_t skipped = 0;  // malformed: bad address, missing fields, overlong name
  uint64_t module_symbols = 0;  // "\t[module]" lines, left out on purpose
  uint64_t duplicates = 0;      // later lines for a name already known
  std::string first_bad_line;  // for the note (at most 120 bytes)
};

// Kernel image addresses (text, data, bss) start here; KASLR moves only
// those. Per-CPU symbols are small offsets and never move.
inline constexpr uint64_t kKernelImageBase = 0xffffffff80000000ull;

class SymbolTable {
 public:
  // Lines "<hex addr> <type char> <name>[\t[module]]". Module symbols
  // ([mod]) are skipped; on duplicate names the first wins (kallsyms lists
  // core kernel symbols first). Names longer than 512 bytes, addresses of
  // more than 16 hex digits and lines holding NUL bytes are malformed. Blank
  // lines are ignored; a trailing CR is stripped.
  static SymbolTable parse_kallsyms(std::string_view text, ParseStats* stats = nullptr);
  // System.map has the same line shape; addresses are link-time: add
  // `kaslr_offset` to every kernel-image address (>= kKernelImageBase).
  static SymbolTable parse_system_map(std::string_view text, uint64_t kaslr_offset,
                                      ParseStats* stats = nullptr);
  // KALLSYMS payload: zstd frame(s) of kallsyms text. Fails when the blob
  // is empty, does not decompress, or would exceed `max_text` bytes (the
  // zstd window is capped by max_text too, so a bomb never allocates).
  static Result<SymbolTable> from_compressed_kallsyms(std::span<const uint8_t> blob,
                                                      size_t max_text = 64u << 20,
                                                      ParseStats* stats = nullptr);

  // System.map text of this table with the KASLR offset taken off the
  // image addresses (so parse_system_map(to_system_map(o), o) round-trips).
  // The host keeps the guest's symbols this way to skip KALLSYMS next boot.
  std::string to_system_map(uint64_t kaslr_offset) const;

  std::optional<uint64_t> find(std::string_view name) const;
  // kNotFound "kernel symbol 'x' not found (N symbols known)".
  Result<uint64_t> require(std::string_view name) const;
  size_t size() const { return by_name_.size(); }
  bool empty() const { return by_name_.empty(); }

 private:
  std::unordered_map<std::string, uint64_t> by_name_;
};

// zstd-compresses kallsyms text for the KALLSYMS message (guest side).
Result<std::vector<uint8_t>> compress_kallsyms(std::string_view text, int level = 3);

}  // namespace ktstr::ksyms
