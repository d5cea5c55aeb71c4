// Test helpers: read archives back (libarchive, and a kernel-like newc
// walker for concatenated archives), extract them, set up fixtures.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::initramfs::test {

struct ReadEntry {
  std::string path;   // as stored ("bin/sh")
  unsigned type = 0;  // AE_IF*
  unsigned perm = 0;
  int64_t size = 0;
  int64_t mtime = -1, uid = -1, gid = -1;
  std::string symlink;
  unsigned rdevmajor = 0, rdevminor = 0;
  std::string data;
};

// Reads one archive (up to its trailer) with libarchive's cpio reader.
Result<std::vector<ReadEntry>> read_archive(std::string_view bytes);
Result<std::vector<ReadEntry>> read_archive_file(const std::filesystem::path& p);
const ReadEntry* find(const std::vector<ReadEntry>& entries, std::string_view path);

// Walks concatenated newc archives the way the kernel's initramfs unpacker
// does (4-byte aligned headers, zero padding between archives). Returns
// every entry name in order; `trailers` counts archive ends.
Result<std::vector<std::string>> walk_newc(std::string_view bytes, int* trailers);

// Extracts an archive file into `dir` (replacing existing entries, as the
// kernel does); device nodes are skipped.
Status extract(const std::filesystem::path& archive, const std::filesystem::path& dir);

// Copies the fixture binary to <dir>/bin/fixture and its library to
// <dir>/lib/ (unless without_lib).
Status install_fixture(const std::filesystem::path& dir, bool without_lib = false);

}  // namespace ktstr::initramfs::test
