// XXH64 content hash: stable cache keys for initramfs archives.
// Not cryptographic; collisions only matter for accidental cache reuse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ktstr::initramfs {

uint64_t xxh64(std::string_view data, uint64_t seed = 0);
// 16 lowercase hex digits.
std::string hex64(uint64_t v);

}  // namespace ktstr::initramfs
