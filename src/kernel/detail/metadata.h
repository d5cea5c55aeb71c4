// metadata.json of a cache entry: reading, writing, and the small helpers
// (hash, timestamps, key checks) shared by the cache's .cpp files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

#include "kernel/cache.h"
#include "util/result.h"

namespace ktstr::kernel::detail {

inline constexpr const char* kMetadataFile = "metadata.json";
inline constexpr const char* kImageFile = "vmlinuz";
inline constexpr const char* kConfigFile = "config";
inline constexpr const char* kSystemMapFile = "System.map";
inline constexpr const char* kBtfFile = "vmlinux.btf";
inline constexpr const char* kLockFile = ".lock";
inline constexpr const char* kTempPrefix = ".tmp-";

// Serialises the metadata fields of `e` (not the paths).
std::string metadata_json(const KernelEntry& e);
// Parses <dir>/metadata.json and fills the paths of files present in `dir`.
Result<KernelEntry> load_entry(const std::filesystem::path& dir);

uint64_t fnv1a64(std::span<const uint8_t> data);
std::string hex64(uint64_t v);  // 16 lower-case hex digits
std::string now_iso8601();

// A key is one path component of [A-Za-z0-9._+~-], not starting with '.'.
bool valid_key(std::string_view key);
// Replaces characters a key may not hold with '_'.
std::string sanitize_key(std::string_view s);

// Newest first: created desc, then version desc, then key.
bool newer_first(const KernelEntry& a, const KernelEntry& b);

}  // namespace ktstr::kernel::detail
