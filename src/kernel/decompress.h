// Decompressors for the payload formats a bzImage carries (gzip, xz, zstd,
// lz4 frame and the kernel's legacy lz4), with an output cap because the
// input is an untrusted file. Used by image.cpp; public for tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::kernel {

enum class Compression { kGzip, kXz, kZstd, kLz4Frame, kLz4Legacy, kBzip2, kLzma, kLzo };

std::string_view compression_name(Compression c);

// The format whose magic bytes start `data`, if any.
std::optional<Compression> detect_compression(std::span<const uint8_t> data);

// Decompresses the first stream/frame of `data` (trailing bytes, such as the
// 4-byte size the kernel appends, are ignored). Fails past `max_output` bytes.
// `size_hint` pre-sizes the output buffer.
Result<std::vector<uint8_t>> decompress(Compression c, std::span<const uint8_t> data,
                                        size_t max_output, size_t size_hint = 0);

}  // namespace ktstr::kernel
