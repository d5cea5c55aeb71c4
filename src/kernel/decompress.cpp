#include "kernel/decompress.h"

#include <lz4.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <string>

namespace ktstr::kernel {

namespace {

constexpr uint8_t kGzipMagic[] = {0x1f, 0x8b, 0x08};
constexpr uint8_t kXzMagic[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
constexpr uint8_t kZstdMagic[] = {0x28, 0xb5, 0x2f, 0xfd};
constexpr uint8_t kLz4FrameMagic[] = {0x04, 0x22, 0x4d, 0x18};
constexpr uint8_t kLz4LegacyMagic[] = {0x02, 0x21, 0x4c, 0x18};
constexpr uint8_t kBzip2Magic[] = {'B', 'Z', 'h'};
constexpr uint8_t kLzmaMagic[] = {0x5d, 0x00, 0x00};
constexpr uint8_t kLzoMagic[] = {0x89, 'L', 'Z', 'O'};
constexpr uint32_t kLz4LegacyMagicValue = 0x184C2102;
constexpr size_t kLz4LegacyBlock = 8u << 20;  // lz4 -l block size

template <size_t N>
bool starts_with(std::span<const uint8_t> d, const uint8_t (&m)[N]) {
  return d.size() >= N && std::memcmp(d.data(), m, N) == 0;
}

uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

Error too_big(Compression c, size_t max) {
  return protocol_error(std::string(compression_name(c)) + " payload decompresses to more than " +
                        std::to_string(max >> 20) + " MiB; not a kernel payload");
}

// Makes room past `used` (doubling, capped at max); false when the cap is hit.
bool grow(std::vector<uint8_t>& out, size_t used, size_t max) {
  if (out.size() - used > 0) return true;
  if (out.size() >= max) return false;
  size_t next = std::max<size_t>(out.size() * 2, 1u << 20);
  out.resize(std::min(next, max));
  return true;
}

Result<std::vector<uint8_t>> gunzip(std::span<const uint8_t> in, size_t max, size_t hint) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return protocol_error("gzip: inflateInit failed");
  std::vector<uint8_t> out(std::min(std::max<size_t>(hint, 1u << 20), max));
  zs.next_in = const_cast<Bytef*>(in.data());
  size_t used = 0;
  size_t in_left = in.size();
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    if (!grow(out, used, max)) {
      inflateEnd(&zs);
      return too_big(Compression::kGzip, max);
    }
    uInt in_chunk = static_cast<uInt>(std::min<size_t>(in_left, 1u << 30));
    uInt out_chunk = static_cast<uInt>(std::min<size_t>(out.size() - used, 1u << 30));
    zs.avail_in = in_chunk;
    zs.next_out = out.data() + used;
    zs.avail_out = out_chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    used += out_chunk - zs.avail_out;
    if (rc == Z_BUF_ERROR && in_left == 0) rc = Z_DATA_ERROR;  // truncated
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      std::string msg = zs.msg ? zs.msg : "corrupt data";
      inflateEnd(&zs);
      return protocol_error("gzip: " + msg);
    }
  }
  inflateEnd(&zs);
  out.resize(used);
  return out;
}

Result<std::vector<uint8_t>> unxz(std::span<const uint8_t> in, size_t max, size_t hint) {
  lzma_stream ls = LZMA_STREAM_INIT;
  // No LZMA_CONCATENATED: stop at the end of the first stream so the kernel's
  // appended size word is not parsed as stream padding.
  if (lzma_stream_decoder(&ls, UINT64_MAX, 0) != LZMA_OK)
    return protocol_error("xz: cannot init decoder");
  std::vector<uint8_t> out(std::min(std::max<size_t>(hint, 1u << 20), max));
  ls.next_in = in.data();
  ls.avail_in = in.size();
  size_t used = 0;
  lzma_ret rc = LZMA_OK;
  while (rc != LZMA_STREAM_END) {
    if (!grow(out, used, max)) {
      lzma_end(&ls);
      return too_big(Compression::kXz, max);
    }
    ls.next_out = out.data() + used;
    ls.avail_out = out.size() - used;
    size_t before = ls.avail_out;
    rc = lzma_code(&ls, ls.avail_in ? LZMA_RUN : LZMA_FINISH);
    used += before - ls.avail_out;
    if (rc != LZMA_OK && rc != LZMA_STREAM_END) {
      lzma_end(&ls);
      return protocol_error("xz: corrupt or truncated data (lzma error " +
                            std::to_string(static_cast<int>(rc)) + ")");
    }
  }
  lzma_end(&ls);
  out.resize(used);
  return out;
}

Result<std::vector<uint8_t>> unzstd(std::span<const uint8_t> in, size_t max, size_t hint) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  if (!ds) return protocol_error("zstd: cannot create decoder");
  // The kernel's zstd uses a large window (--ultra -22 => up to 2^27).
  ZSTD_DCtx_setParameter(ds, ZSTD_d_windowLogMax, 31);
  std::vector<uint8_t> out(std::min(std::max<size_t>(hint, 1u << 20), max));
  ZSTD_inBuffer ib{in.data(), in.size(), 0};
  size_t used = 0;
  while (true) {
    if (!grow(out, used, max)) {
      ZSTD_freeDStream(ds);
      return too_big(Compression::kZstd, max);
    }
    ZSTD_outBuffer ob{out.data() + used, out.size() - used, 0};
    size_t rc = ZSTD_decompressStream(ds, &ob, &ib);
    used += ob.pos;
    if (ZSTD_isError(rc)) {
      std::string msg = ZSTD_getErrorName(rc);
      ZSTD_freeDStream(ds);
      return protocol_error("zstd: " + msg);
    }
    if (rc == 0) break;  // frame complete
    if (ib.pos == ib.size && ob.pos < ob.size) {
      ZSTD_freeDStream(ds);
      return protocol_error("zstd: truncated data");
    }
  }
  ZSTD_freeDStream(ds);
  out.resize(used);
  return out;
}

Result<std::vector<uint8_t>> unlz4_frame(std::span<const uint8_t> in, size_t max, size_t hint) {
  LZ4F_dctx* dctx = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
    return protocol_error("lz4: cannot create decoder");
  std::vector<uint8_t> out(std::min(std::max<size_t>(hint, 1u << 20), max));
  size_t used = 0, pos = 0;
  while (true) {
    if (!grow(out, used, max)) {
      LZ4F_freeDecompressionContext(dctx);
      return too_big(Compression::kLz4Frame, max);
    }
    size_t out_n = out.size() - used;
    size_t in_n = in.size() - pos;
    size_t rc = LZ4F_decompress(dctx, out.data() + used, &out_n, in.data() + pos, &in_n, nullptr);
    used += out_n;
    pos += in_n;
    if (LZ4F_isError(rc)) {
      std::string msg = LZ4F_getErrorName(rc);
      LZ4F_freeDecompressionContext(dctx);
      return protocol_error("lz4: " + msg);
    }
    if (rc == 0) break;  // frame complete
    if (pos == in.size() && out_n == 0) {
      LZ4F_freeDecompressionContext(dctx);
      return protocol_error("lz4: truncated data");
    }
  }
  LZ4F_freeDecompressionContext(dctx);
  out.resize(used);
  return out;
}

// lz4 -l: magic, then [le32 compressed size][block] ... each block up to 8 MiB
// decompressed. Ends at end of input, at a size that does not fit (the
// kernel's trailing size word) or continues past a repeated magic.
Result<std::vector<uint8_t>> unlz4_legacy(std::span<const uint8_t> in, size_t max, size_t hint) {
  std::vector<uint8_t> out;
  out.reserve(std::min(hint, max));
  size_t pos = 4;
  while (pos + 4 <= in.size()) {
    uint32_t n = le32(in.data() + pos);
    if (n == kLz4LegacyMagicValue) {
      pos += 4;
      continue;
    }
    if (n == 0 || n > in.size() - pos - 4) break;
    if (n > static_cast<uint32_t>(LZ4_compressBound(kLz4LegacyBlock)))
      return protocol_error("lz4 (legacy): block of " + std::to_string(n) + " bytes is too large");
    size_t used = out.size();
    if (used >= max) return too_big(Compression::kLz4Legacy, max);
    size_t room = std::min(kLz4LegacyBlock, max - used);
    out.resize(used + room);
    int got = LZ4_decompress_safe(reinterpret_cast<const char*>(in.data() + pos + 4),
                                  reinterpret_cast<char*>(out.data() + used), static_cast<int>(n),
                                  static_cast<int>(room));
    if (got < 0) {
      if (room < kLz4LegacyBlock) return too_big(Compression::kLz4Legacy, max);
      return protocol_error("lz4 (legacy): corrupt block at offset " + std::to_string(pos));
    }
    out.resize(used + static_cast<size_t>(got));
    pos += 4 + n;
  }
  if (out.empty()) return protocol_error("lz4 (legacy): no data blocks");
  return out;
}

}  // namespace

std::string_view compression_name(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return "gzip";
    case Compression::kXz:
      return "xz";
    case Compression::kZstd:
      return "zstd";
    case Compression::kLz4Frame:
      return "lz4";
    case Compression::kLz4Legacy:
      return "lz4 (legacy)";
    case Compression::kBzip2:
      return "bzip2";
    case Compression::kLzma:
      return "lzma";
    case Compression::kLzo:
      return "lzo";
  }
  return "unknown";
}

std::optional<Compression> detect_compression(std::span<const uint8_t> d) {
  if (starts_with(d, kGzipMagic)) return Compression::kGzip;
  if (starts_with(d, kXzMagic)) return Compression::kXz;
  if (starts_with(d, kZstdMagic)) return Compression::kZstd;
  if (starts_with(d, kLz4FrameMagic)) return Compression::kLz4Frame;
  if (starts_with(d, kLz4LegacyMagic)) return Compression::kLz4Legacy;
  if (starts_with(d, kBzip2Magic)) return Compression::kBzip2;
  if (starts_with(d, kLzoMagic)) return Compression::kLzo;
  if (starts_with(d, kLzmaMagic)) return Compression::kLzma;
  return std::nullopt;
}

Result<std::vector<uint8_t>> decompress(Compression c, std::span<const uint8_t> data,
                                        size_t max_output, size_t size_hint) {
  switch (c) {
    case Compression::kGzip:
      return gunzip(data, max_output, size_hint);
    case Compression::kXz:
      return unxz(data, max_output, size_hint);
    case Compression::kZstd:
      return unzstd(data, max_output, size_hint);
    case Compression::kLz4Frame:
      return unlz4_frame(data, max_output, size_hint);
    case Compression::kLz4Legacy:
      return unlz4_legacy(data, max_output, size_hint);
    default:
      break;
  }
  return unavailable(std::string(compression_name(c)) +
                     " kernel payloads are not supported; rebuild with CONFIG_KERNEL_ZSTD=y "
                     "(or XZ, GZIP, LZ4)");
}

}  // namespace ktstr::kernel
