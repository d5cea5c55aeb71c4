// Whole-file and whole-buffer I/O helpers returning Result.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr {

Result<std::string> read_file(const std::filesystem::path& path);
// Reads at most `limit` bytes (for sysfs/procfs and untrusted files).
Result<std::string> read_file_limited(const std::filesystem::path& path, size_t limit);
Status write_file(const std::filesystem::path& path, std::string_view data);
// Writes to a temp file beside `path` then renames: readers never see a partial file.
Status write_file_atomic(const std::filesystem::path& path, std::string_view data);

// Loops over short writes and EINTR.
Status write_all(int fd, std::span<const uint8_t> data);
Status write_all(int fd, std::string_view data);

// Trims ASCII whitespace at both ends.
std::string_view trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);

}  // namespace ktstr
