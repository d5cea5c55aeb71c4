// Little-endian byte (de)serialisation for wire payloads. Byte-wise on
// purpose: no struct memcpy, no dependence on host byte order or padding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ktstr::wire::detail {

inline uint16_t load_u16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }
inline uint32_t load_u32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}
inline uint64_t load_u64(const uint8_t* p) {
  return static_cast<uint64_t>(load_u32(p)) | static_cast<uint64_t>(load_u32(p + 4)) << 32;
}
inline void store_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Appends fields to a payload under construction.
class Writer {
 public:
  explicit Writer(size_t reserve = 0) { out_.reserve(reserve); }
  Writer& u8(uint8_t v) {
    out_.push_back(v);
    return *this;
  }
  Writer& u16(uint16_t v) { return put(v, 2); }
  Writer& u32(uint32_t v) { return put(v, 4); }
  Writer& u64(uint64_t v) { return put(v, 8); }
  Writer& bytes(std::string_view s) {
    out_.insert(out_.end(), s.begin(), s.end());
    return *this;
  }
  // Writes s, then zeros up to `width` bytes (s.size() <= width).
  Writer& padded(std::string_view s, size_t width) {
    bytes(s);
    out_.insert(out_.end(), width - s.size(), 0);
    return *this;
  }
  std::vector<uint8_t> take() { return std::move(out_); }

 private:
  Writer& put(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
    return *this;
  }
  std::vector<uint8_t> out_;
};

// Reads fields from an untrusted payload. Every read is bounds-checked: an
// overrun returns zeros/empty and latches ok() to false.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> data) : data_(data) {}
  uint8_t u8() {
    const uint8_t* p = take(1);
    return p ? p[0] : 0;
  }
  uint16_t u16() {
    const uint8_t* p = take(2);
    return p ? load_u16(p) : 0;
  }
  uint32_t u32() {
    const uint8_t* p = take(4);
    return p ? load_u32(p) : 0;
  }
  uint64_t u64() {
    const uint8_t* p = take(8);
    return p ? load_u64(p) : 0;
  }
  std::string_view text(size_t n) {
    const uint8_t* p = take(n);
    return p ? std::string_view(reinterpret_cast<const char*>(p), n) : std::string_view();
  }
  std::string_view rest() { return text(remaining()); }
  size_t remaining() const { return data_.size() - pos_; }
  bool ok() const { return ok_; }

 private:
  const uint8_t* take(size_t n) {
    if (!ok_ || n > remaining()) {
      ok_ = false;
      return nullptr;
    }
    const uint8_t* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace ktstr::wire::detail
