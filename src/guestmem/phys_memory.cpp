#include "guestmem/phys_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "util/fd.h"

namespace ktstr::guestmem {

namespace {

// One mmap of a whole guest-RAM file prefix; unmapped when PhysMemory dies.
struct Mapping {
  void* addr = nullptr;
  size_t length = 0;
};

// A RamRange resolved to host memory; sorted by guest_phys for lookups.
struct Piece {
  uint64_t guest_phys = 0;
  uint64_t size = 0;
  uint8_t* host = nullptr;
  uint64_t end() const { return guest_phys + size; }
};

Error outside_ram(uint64_t pa, size_t len) {
  return invalid_argument(fmt::format("guest-physical {:#x} (+{}) is outside guest RAM", pa, len));
}

// Sorted ranges must have sizes, must not wrap and must not overlap.
Status check_ranges(const std::vector<RamRange>& sorted) {
  for (size_t i = 0; i < sorted.size(); ++i) {
    const RamRange& r = sorted[i];
    if (r.size == 0)
      return invalid_argument(fmt::format("RAM range at {:#x} has size 0", r.guest_phys));
    if (r.guest_phys + r.size < r.guest_phys || r.file_offset + r.size < r.file_offset)
      return invalid_argument(fmt::format("RAM range at {:#x} (+{:#x}) wraps around",
                                          r.guest_phys, r.size));
    if (i > 0 && sorted[i - 1].guest_phys + sorted[i - 1].size > r.guest_phys)
      return invalid_argument(fmt::format("RAM ranges at {:#x} and {:#x} overlap",
                                          sorted[i - 1].guest_phys, r.guest_phys));
  }
  return {};
}

}  // namespace

struct PhysMemory::Impl {
  std::vector<RamRange> ranges;
  std::vector<Piece> pieces;  // parallel to ranges
  std::vector<Mapping> mappings;
  std::vector<uint8_t> image;  // from_image only
  bool writable = false;

  ~Impl() {
    for (const Mapping& m : mappings) ::munmap(m.addr, m.length);
  }

  // The piece containing `pa`, or nullptr.
  const Piece* find(uint64_t pa) const {
    auto it = std::upper_bound(pieces.begin(), pieces.end(), pa,
                               [](uint64_t a, const Piece& p) { return a < p.guest_phys; });
    if (it == pieces.begin()) return nullptr;
    --it;
    return pa - it->guest_phys < it->size ? &*it : nullptr;
  }

  // Calls fn(host_ptr, offset_in_request, n) for each piece of
  // [pa, pa + len); fails (before calling fn at all) unless adjacent pieces
  // cover all of it.
  template <typename Fn>
  Status for_each_piece(uint64_t pa, size_t len, Fn&& fn) const {
    if (len == 0) return {};
    if (pa + len < pa) return outside_ram(pa, len);
    const Piece* first = find(pa);
    if (first == nullptr) return outside_ram(pa, len);
    // Common case: one piece holds it all.
    if (pa + len <= first->end()) {
      fn(first->host + (pa - first->guest_phys), 0, len);
      return {};
    }
    // Check the whole span first so a failed access touches nothing.
    const Piece* p = first;
    const Piece* last_piece = pieces.data() + pieces.size() - 1;
    while (p->end() < pa + len) {
      if (p == last_piece || (p + 1)->guest_phys != p->end()) return outside_ram(pa, len);
      ++p;
    }
    size_t done = 0;
    for (p = first; done < len; ++p) {
      const uint64_t at = pa + done;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(len - done, p->end() - at));
      fn(p->host + (at - p->guest_phys), done, n);
      done += n;
    }
    return {};
  }
};

PhysMemory::PhysMemory() : impl_(std::make_unique<Impl>()) {}
PhysMemory::~PhysMemory() = default;
PhysMemory::PhysMemory(PhysMemory&&) noexcept = default;
PhysMemory& PhysMemory::operator=(PhysMemory&&) noexcept = default;

Result<PhysMemory> PhysMemory::map(std::vector<RamRange> ranges, Access access) {
  std::sort(ranges.begin(), ranges.end(),
            [](const RamRange& a, const RamRange& b) { return a.guest_phys < b.guest_phys; });
  KTSTR_TRY(check_ranges(ranges), "mapping guest RAM");

  PhysMemory mem;
  Impl& impl = *mem.impl_;
  impl.writable = access == Access::kReadWrite;
  const int open_flags = (impl.writable ? O_RDWR : O_RDONLY) | O_CLOEXEC;
  const int prot = impl.writable ? PROT_READ | PROT_WRITE : PROT_READ;

  // Each file is mapped once, from offset 0 to the furthest byte any range uses.
  std::map<std::filesystem::path, uint64_t> file_extent;
  for (const RamRange& r : ranges) {
    uint64_t& extent = file_extent[r.file];
    extent = std::max(extent, r.file_offset + r.size);
  }
  std::map<std::filesystem::path, uint8_t*> file_base;
  for (const auto& [path, extent] : file_extent) {
    UniqueFd fd(::open(path.c_str(), open_flags));
    if (!fd.valid()) return io_error(fmt::format("opening guest RAM file {}", path.string()));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0)
      return io_error(fmt::format("stat of guest RAM file {}", path.string()));
    if (static_cast<uint64_t>(st.st_size) < extent)
      return invalid_argument(fmt::format("guest RAM file {} has {} bytes, ranges need {}",
                                          path.string(), st.st_size, extent));
    void* addr = ::mmap(nullptr, extent, prot, MAP_SHARED, fd.get(), 0);
    if (addr == MAP_FAILED)
      return io_error(fmt::format("mapping guest RAM file {} ({} bytes)", path.string(), extent));
    impl.mappings.push_back({addr, static_cast<size_t>(extent)});
    file_base[path] = static_cast<uint8_t*>(addr);
  }
  for (const RamRange& r : ranges)
    impl.pieces.push_back({r.guest_phys, r.size, file_base[r.file] + r.file_offset});
  impl.ranges = std::move(ranges);
  return mem;
}

PhysMemory PhysMemory::from_image(std::vector<uint8_t> image, uint64_t base, Access access) {
  PhysMemory mem;
  Impl& impl = *mem.impl_;
  impl.writable = access == Access::kReadWrite;
  impl.image = std::move(image);
  if (!impl.image.empty() && base + impl.image.size() > base) {
    impl.ranges.push_back({base, impl.image.size(), "<image>", 0});
    impl.pieces.push_back({base, impl.image.size(), impl.image.data()});
  }
  return mem;
}

const std::vector<RamRange>& PhysMemory::ranges() const {
  static const std::vector<RamRange> kNone;
  return impl_ ? impl_->ranges : kNone;
}

bool PhysMemory::writable() const { return impl_ && impl_->writable; }

bool PhysMemory::contains(uint64_t pa, uint64_t len) const {
  if (!impl_ || pa + len < pa) return false;
  const Piece* p = impl_->find(pa);
  return p != nullptr && pa + len <= p->end();
}

Status PhysMemory::read(uint64_t pa, std::span<uint8_t> out) const {
  if (!impl_) return outside_ram(pa, out.size());
  // memcpy, not typed loads: the guest may be writing these bytes right now.
  return impl_->for_each_piece(pa, out.size(), [&](const uint8_t* host, size_t at, size_t n) {
    std::memcpy(out.data() + at, host, n);
  });
}

Result<uint64_t> PhysMemory::read_uint(uint64_t pa, unsigned width) const {
  if (width != 1 && width != 2 && width != 4 && width != 8)
    return invalid_argument(fmt::format("integer width {} at guest-physical {:#x} is not 1, 2, 4 or 8",
                                        width, pa));
  uint8_t bytes[8] = {};
  KTSTR_TRY(read(pa, std::span<uint8_t>(bytes, width)));
  uint64_t v = 0;
  for (unsigned i = 0; i < width; ++i) v |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  return v;
}

Result<uint64_t> PhysMemory::read_u64(uint64_t pa) const { return read_uint(pa, 8); }

Result<uint32_t> PhysMemory::read_u32(uint64_t pa) const {
  KTSTR_ASSIGN(uint64_t v, read_uint(pa, 4));
  return static_cast<uint32_t>(v);
}

Status PhysMemory::write(uint64_t pa, std::span<const uint8_t> data) const {
  if (!writable())
    return invalid_argument(
        fmt::format("guest-physical {:#x} (+{}): guest RAM is mapped read-only", pa, data.size()));
  return impl_->for_each_piece(pa, data.size(), [&](uint8_t* host, size_t at, size_t n) {
    std::memcpy(host, data.data() + at, n);
  });
}

}  // namespace ktstr::guestmem
