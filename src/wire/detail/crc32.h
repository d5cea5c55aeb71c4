// CRC-32 implementations behind crc32_update(), exposed so tests can check
// each one against zlib on this machine.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ktstr::wire::detail {

enum class CrcImpl {
  kZlib,        // zlib crc32_z(): the reference
  kPclmul,      // 128-bit carry-less multiply folding (SSE4.1 + PCLMULQDQ)
  kVpclmul512,  // 512-bit folding (AVX-512F/VL + VPCLMULQDQ)
};

// Whether this CPU (and OS) can run `impl`.
bool crc_impl_supported(CrcImpl impl);
// The fastest supported implementation; chosen once per process.
CrcImpl best_crc_impl();
const char* crc_impl_name(CrcImpl impl);
// zlib-compatible running CRC (crc = 0 to start) with a given implementation,
// which must be supported.
uint32_t crc32_with(CrcImpl impl, uint32_t crc, const uint8_t* data, size_t len);

// Incremental CRC-32 of a byte stream that arrives in pieces. fold() consumes
// a prefix of whole blocks and keeps the 512-bit folding state between calls,
// so pieces cost no per-call reduction; bytes it did not consume must be
// passed again (from any address) ahead of later bytes. finish() takes the
// rest. E.g. off += fold(buf + off, len - off) as data arrives, then
// finish(buf + off, len - off).
class CrcFolder {
 public:
  // fold() never leaves more than kBlock - 1 bytes unconsumed.
  static constexpr size_t kBlock = 256;
  explicit CrcFolder(CrcImpl impl = best_crc_impl()) : impl_(impl) {}
  void reset() {
    started_ = false;
    crc_ = 0;
  }
  // Returns how many leading bytes of [p, p + n) were consumed.
  size_t fold(const uint8_t* p, size_t n);
  // The CRC of everything consumed plus [p, p + n); then reset() to reuse.
  uint32_t finish(const uint8_t* p, size_t n);

 private:
  CrcImpl impl_;
  bool started_ = false;            // lanes_ holds folding state (vpclmul512)
  uint32_t crc_ = 0;                // running CRC (other implementations)
  alignas(64) uint8_t lanes_[256];  // four 512-bit accumulators
};

}  // namespace ktstr::wire::detail
