// zlib-compatible CRC-32 with x86 carry-less-multiply folding.
//
// zlib's table-driven crc32() runs at ~4 GB/s, an order of magnitude below
// memcpy, which would make the CRC the whole cost of frame assembly. The
// folding method (Intel, "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ", 2009; the same constants as Linux crc32-pclmul and Chromium
// zlib) computes the identical CRC-32, so both sides still agree with plain
// zlib. Fold constant for a distance of D bits: low qword k(D+32), high qword
// k(D-32), where k(n) = reflect32(x^n mod P) << 1, P = 0x104C11DB7.
// Unit tests check every implementation against zlib.
#include <zlib.h>

#include "wire/detail/crc32.h"
#include "wire/protocol.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define KTSTR_CRC_X86 1
#endif

namespace ktstr::wire {
namespace detail {
namespace {

uint32_t crc_zlib(uint32_t crc, const uint8_t* p, size_t n) {
  if (n == 0) return crc;  // crc32_z(crc, NULL, 0) would return 0
  return static_cast<uint32_t>(crc32_z(crc, p, n));
}

#ifdef KTSTR_CRC_X86

#define KTSTR_TARGET_PCLMUL __attribute__((target("sse4.1,pclmul")))
#define KTSTR_TARGET_VPCLMUL __attribute__((target("sse4.1,pclmul,avx512f,avx512vl,vpclmulqdq")))

// Folds 128-bit lane `x` forward by the distance encoded in `k` and adds `next`.
// (Lambdas would not inherit the target attribute, hence these helpers.)
KTSTR_TARGET_PCLMUL inline __m128i load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

KTSTR_TARGET_PCLMUL inline __m128i fold128(__m128i x, __m128i k, __m128i next) {
  __m128i lo = _mm_clmulepi64_si128(x, k, 0x00);
  __m128i hi = _mm_clmulepi64_si128(x, k, 0x11);
  return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

// Reduces the four-lane state x1..x4 (64 consecutive bytes, folded) plus the
// remaining `len` bytes (a multiple of 16) to the inverted CRC.
KTSTR_TARGET_PCLMUL uint32_t finish(__m128i x1, __m128i x2, __m128i x3, __m128i x4,
                                    const uint8_t* buf, size_t len) {
  alignas(16) static const uint64_t k3k4[] = {0x01751997d0, 0x00ccaa009e};  // D = 128
  alignas(16) static const uint64_t k5k0[] = {0x0163cd6124, 0x0000000000};
  alignas(16) static const uint64_t poly[] = {0x01db710641, 0x01f7011641};  // P', mu

  __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(k3k4));
  x1 = fold128(x1, k, x2);
  x1 = fold128(x1, k, x3);
  x1 = fold128(x1, k, x4);
  for (; len >= 16; buf += 16, len -= 16) x1 = fold128(x1, k, load(buf));

  // 128 -> 64 bits.
  __m128i mask32 = _mm_setr_epi32(~0, 0, ~0, 0);
  __m128i x2f = _mm_clmulepi64_si128(x1, k, 0x10);
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2f);
  k = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(k5k0));
  x2f = _mm_srli_si128(x1, 4);
  x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k, 0x00);
  x1 = _mm_xor_si128(x1, x2f);

  // Barrett reduction to 32 bits.
  k = _mm_load_si128(reinterpret_cast<const __m128i*>(poly));
  x2f = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k, 0x10);
  x2f = _mm_clmulepi64_si128(_mm_and_si128(x2f, mask32), k, 0x00);
  x1 = _mm_xor_si128(x1, x2f);
  return static_cast<uint32_t>(_mm_extract_epi32(x1, 1));
}

// Inverted-domain CRC of len >= 64 bytes, len % 16 == 0.
KTSTR_TARGET_PCLMUL uint32_t crc_pclmul_blocks(uint32_t crc, const uint8_t* buf, size_t len) {
  alignas(16) static const uint64_t k1k2[] = {0x0154442bd4, 0x01c6e41596};  // D = 512
  __m128i x1 = _mm_xor_si128(load(buf), _mm_cvtsi32_si128(static_cast<int>(crc)));
  __m128i x2 = load(buf + 16), x3 = load(buf + 32), x4 = load(buf + 48);
  buf += 64;
  len -= 64;
  const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(k1k2));
  for (; len >= 64; buf += 64, len -= 64) {
    x1 = fold128(x1, k, load(buf));
    x2 = fold128(x2, k, load(buf + 16));
    x3 = fold128(x3, k, load(buf + 32));
    x4 = fold128(x4, k, load(buf + 48));
  }
  return finish(x1, x2, x3, x4, buf, len);
}

KTSTR_TARGET_VPCLMUL inline __m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }

KTSTR_TARGET_VPCLMUL inline __m512i fold512(__m512i x, __m512i k, __m512i next) {
  __m512i lo = _mm512_clmulepi64_epi128(x, k, 0x00);
  __m512i hi = _mm512_clmulepi64_epi128(x, k, 0x11);
  return _mm512_ternarylogic_epi64(lo, hi, next, 0x96);  // lo ^ hi ^ next
}

// Inverted-domain CRC of len >= 256 bytes, len % 16 == 0. Sixteen 128-bit
// lanes in four zmm registers, then down to one zmm, then finish().
KTSTR_TARGET_VPCLMUL uint32_t crc_vpclmul_blocks(uint32_t crc, const uint8_t* buf, size_t len) {
  const __m512i k2048 = _mm512_set_epi64(0x01322d1430, 0x011542778a, 0x01322d1430, 0x011542778a,
                                         0x01322d1430, 0x011542778a, 0x01322d1430, 0x011542778a);
  const __m512i k512 = _mm512_set_epi64(0x01c6e41596, 0x0154442bd4, 0x01c6e41596, 0x0154442bd4,
                                        0x01c6e41596, 0x0154442bd4, 0x01c6e41596, 0x0154442bd4);
  __m512i seed =
      _mm512_inserti32x4(_mm512_setzero_si512(), _mm_cvtsi32_si128(static_cast<int>(crc)), 0);
  __m512i z0 = _mm512_xor_si512(load512(buf), seed);
  __m512i z1 = load512(buf + 64), z2 = load512(buf + 128), z3 = load512(buf + 192);
  buf += 256;
  len -= 256;
  for (; len >= 256; buf += 256, len -= 256) {
    z0 = fold512(z0, k2048, load512(buf));
    z1 = fold512(z1, k2048, load512(buf + 64));
    z2 = fold512(z2, k2048, load512(buf + 128));
    z3 = fold512(z3, k2048, load512(buf + 192));
  }
  __m512i z = fold512(z0, k512, z1);
  z = fold512(z, k512, z2);
  z = fold512(z, k512, z3);
  for (; len >= 64; buf += 64, len -= 64) z = fold512(z, k512, load512(buf));
  // maskz forms: GCC 12 warns about the undefined source of the plain ones.
  return finish(_mm512_maskz_extracti32x4_epi32(0xF, z, 0),
                _mm512_maskz_extracti32x4_epi32(0xF, z, 1),
                _mm512_maskz_extracti32x4_epi32(0xF, z, 2),
                _mm512_maskz_extracti32x4_epi32(0xF, z, 3), buf, len);
}

constexpr size_t kFoldBlock = CrcFolder::kBlock;

// CrcFolder kernels: the loop of crc_vpclmul_blocks with the four
// accumulators kept in memory between calls. n is a multiple of 256.
KTSTR_TARGET_VPCLMUL void vpclmul_fold(uint8_t* lanes, bool started, const uint8_t* buf, size_t n) {
  const __m512i k2048 = _mm512_set_epi64(0x01322d1430, 0x011542778a, 0x01322d1430, 0x011542778a,
                                         0x01322d1430, 0x011542778a, 0x01322d1430, 0x011542778a);
  __m512i z0, z1, z2, z3;
  if (started) {
    z0 = _mm512_load_si512(lanes);
    z1 = _mm512_load_si512(lanes + 64);
    z2 = _mm512_load_si512(lanes + 128);
    z3 = _mm512_load_si512(lanes + 192);
  } else {  // seed with the inverted initial CRC (0)
    __m512i seed = _mm512_inserti32x4(_mm512_setzero_si512(), _mm_cvtsi32_si128(-1), 0);
    z0 = _mm512_xor_si512(load512(buf), seed);
    z1 = load512(buf + 64);
    z2 = load512(buf + 128);
    z3 = load512(buf + 192);
    buf += kFoldBlock;
    n -= kFoldBlock;
  }
  for (; n >= kFoldBlock; buf += kFoldBlock, n -= kFoldBlock) {
    z0 = fold512(z0, k2048, load512(buf));
    z1 = fold512(z1, k2048, load512(buf + 64));
    z2 = fold512(z2, k2048, load512(buf + 128));
    z3 = fold512(z3, k2048, load512(buf + 192));
  }
  _mm512_store_si512(lanes, z0);
  _mm512_store_si512(lanes + 64, z1);
  _mm512_store_si512(lanes + 128, z2);
  _mm512_store_si512(lanes + 192, z3);
}

// Reduces the stored accumulators plus the tail (any length) to the CRC.
KTSTR_TARGET_VPCLMUL uint32_t vpclmul_finish(const uint8_t* lanes, const uint8_t* buf, size_t n) {
  const __m512i k512 = _mm512_set_epi64(0x01c6e41596, 0x0154442bd4, 0x01c6e41596, 0x0154442bd4,
                                        0x01c6e41596, 0x0154442bd4, 0x01c6e41596, 0x0154442bd4);
  __m512i z = fold512(_mm512_load_si512(lanes), k512, _mm512_load_si512(lanes + 64));
  z = fold512(z, k512, _mm512_load_si512(lanes + 128));
  z = fold512(z, k512, _mm512_load_si512(lanes + 192));
  for (; n >= 64; buf += 64, n -= 64) z = fold512(z, k512, load512(buf));
  size_t blocks = n & ~size_t{15};
  uint32_t crc = ~finish(_mm512_maskz_extracti32x4_epi32(0xF, z, 0),
                         _mm512_maskz_extracti32x4_epi32(0xF, z, 1),
                         _mm512_maskz_extracti32x4_epi32(0xF, z, 2),
                         _mm512_maskz_extracti32x4_epi32(0xF, z, 3), buf, blocks);
  return crc_zlib(crc, buf + blocks, n - blocks);
}

#endif  // KTSTR_CRC_X86

CrcImpl detect() {
#ifdef KTSTR_CRC_X86
  if (crc_impl_supported(CrcImpl::kVpclmul512)) return CrcImpl::kVpclmul512;
  if (crc_impl_supported(CrcImpl::kPclmul)) return CrcImpl::kPclmul;
#endif
  return CrcImpl::kZlib;
}

}  // namespace

bool crc_impl_supported(CrcImpl impl) {
  switch (impl) {
    case CrcImpl::kZlib:
      return true;
#ifdef KTSTR_CRC_X86
    case CrcImpl::kPclmul:
      __builtin_cpu_init();
      return __builtin_cpu_supports("sse4.1") && __builtin_cpu_supports("pclmul");
    case CrcImpl::kVpclmul512:
      __builtin_cpu_init();
      return crc_impl_supported(CrcImpl::kPclmul) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("vpclmulqdq");
#else
    default:
      return false;
#endif
  }
  return false;
}

CrcImpl best_crc_impl() {
  static const CrcImpl impl = detect();
  return impl;
}

const char* crc_impl_name(CrcImpl impl) {
  switch (impl) {
    case CrcImpl::kZlib:
      return "zlib";
    case CrcImpl::kPclmul:
      return "pclmul";
    case CrcImpl::kVpclmul512:
      return "vpclmul512";
  }
  return "?";
}

uint32_t crc32_with(CrcImpl impl, uint32_t crc, const uint8_t* p, size_t n) {
#ifdef KTSTR_CRC_X86
  // The folding kernels take whole 16-byte blocks; zlib does the tail.
  size_t blocks = n & ~size_t{15};
  if (impl == CrcImpl::kVpclmul512 && blocks >= 256) {
    crc = ~crc_vpclmul_blocks(~crc, p, blocks);
  } else if (impl != CrcImpl::kZlib && blocks >= 64) {
    crc = ~crc_pclmul_blocks(~crc, p, blocks);
  } else {
    blocks = 0;
  }
  p += blocks;
  n -= blocks;
#else
  (void)impl;
#endif
  return crc_zlib(crc, p, n);
}

size_t CrcFolder::fold(const uint8_t* p, size_t n) {
#ifdef KTSTR_CRC_X86
  if (impl_ == CrcImpl::kVpclmul512) {
    size_t blocks = n & ~(kFoldBlock - 1);
    if (blocks == 0) return 0;
    vpclmul_fold(lanes_, started_, p, blocks);
    started_ = true;
    return blocks;
  }
#endif
  size_t take = impl_ == CrcImpl::kZlib ? n : n & ~(kBlock - 1);
  crc_ = crc32_with(impl_, crc_, p, take);
  return take;
}

uint32_t CrcFolder::finish(const uint8_t* p, size_t n) {
#ifdef KTSTR_CRC_X86
  if (started_) return vpclmul_finish(lanes_, p, n);
#endif
  return crc32_with(impl_, crc_, p, n);
}

}  // namespace detail

uint32_t crc32_update(uint32_t crc, std::span<const uint8_t> data) {
  return detail::crc32_with(detail::best_crc_impl(), crc, data.data(), data.size());
}

uint32_t crc32_of(std::span<const uint8_t> data) { return crc32_update(0, data); }

}  // namespace ktstr::wire
