// PhysMemory: the host's view of guest-physical RAM. Maps the guest-RAM
// files QEMU shares with us (memory-backend-file, share=on) and translates
// guest-physical addresses to bytes through a range table. Every access is
// bounds-checked against that table: an address outside guest RAM (or a
// range that crosses out of a region) is an error value, never a host
// crash. Writes need a writable mapping (the freeze coordinator's), reads
// never do.
//
// Threading: reads and writes from any thread; the guest may be changing
// the bytes underneath (reads are racy by nature, as on real hardware).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace ktstr::guestmem {

// One contiguous piece of guest-physical RAM backed by `file` at
// `file_offset`.
struct RamRange {
  uint64_t guest_phys = 0;
  uint64_t size = 0;
  std::filesystem::path file;
  uint64_t file_offset = 0;
  bool operator==(const RamRange&) const = default;
};

enum class Access { kReadOnly, kReadWrite };

class PhysMemory {
 public:
  // Maps each distinct file once (MAP_SHARED, PROT_READ[|PROT_WRITE]).
  // Fails on overlapping ranges, zero sizes, or a range past its file's end.
  static Result<PhysMemory> map(std::vector<RamRange> ranges, Access access = Access::kReadOnly);
  // A synthetic image for tests and benchmarks: `image` is guest-physical
  // memory starting at `base`; the PhysMemory owns it.
  static PhysMemory from_image(std::vector<uint8_t> image, uint64_t base = 0,
                               Access access = Access::kReadWrite);

  PhysMemory();
  ~PhysMemory();
  PhysMemory(PhysMemory&&) noexcept;
  PhysMemory& operator=(PhysMemory&&) noexcept;

  const std::vector<RamRange>& ranges() const;
  bool writable() const;
  // True when [pa, pa + len) lies inside one RAM range.
  bool contains(uint64_t pa, uint64_t len) const;

  // kOutOfRange-style errors (kInvalidArgument) name the address:
  // "guest-physical 0x... (+8) is outside guest RAM".
  Status read(uint64_t pa, std::span<uint8_t> out) const;
  Result<uint64_t> read_u64(uint64_t pa) const;
  Result<uint32_t> read_u32(uint64_t pa) const;
  // Little-endian unsigned value of width 1, 2, 4 or 8 bytes.
  Result<uint64_t> read_uint(uint64_t pa, unsigned width) const;
  // Fails unless writable().
  Status write(uint64_t pa, std::span<const uint8_t> data) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ktstr::guestmem
