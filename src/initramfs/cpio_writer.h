// CpioWriter: builds a cpio "newc" archive (the format the kernel unpacks as
// initramfs) with libarchive.
//
// Entries are collected first and written sorted by path, so the output is
// byte-for-byte deterministic (mtime 0, uid/gid 0, inode numbers in path
// order) whatever order they were added in; sorting also puts every parent
// directory before its children. Missing parent directories are added
// automatically (0755). Guest paths are absolute ("/bin/sh"); the archive
// stores them relative ("bin/sh"), as the kernel and `cpio -i` expect.
//
// Adding a path twice is an error, except: directories merge (an explicit
// mode wins over an implicit parent) and an identical symlink/device is a
// no-op. A path below a non-directory is an error.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.h"

struct archive;  // libarchive

namespace ktstr::initramfs {

class CpioWriter {
 public:
  Status add_directory(std::string_view guest_path, mode_t mode = 0755);
  // Regular file from memory.
  Status add_file(std::string_view guest_path, std::string bytes, mode_t mode = 0644);
  // Regular file read from the host when the archive is written (symlinks
  // followed). Mode defaults to the host file's permission bits.
  Status add_file_from_host(std::string_view guest_path, const std::filesystem::path& host_path,
                            std::optional<mode_t> mode = std::nullopt);
  Status add_symlink(std::string_view guest_path, std::string target);
  Status add_char_device(std::string_view guest_path, unsigned major, unsigned minor,
                         mode_t mode = 0600);

  bool contains(std::string_view guest_path) const;
  size_t size() const { return entries_.size(); }

  // Writes the whole archive (ending in the TRAILER!!! entry).
  Status write_to_fd(int fd) const;
  // Creates/truncates `out`. Not atomic: callers that need it write a temp
  // file and rename.
  Status write_to_file(const std::filesystem::path& out) const;
  Result<std::string> write_to_memory() const;

 private:
  enum class Kind { kDir, kFile, kHostFile, kSymlink, kCharDev };
  struct Entry {
    Kind kind;
    mode_t perm = 0;
    bool implicit = false;  // auto-added parent directory
    std::string data;       // file bytes, symlink target, or host path
    unsigned major = 0, minor = 0;
  };

  Status add(std::string_view guest_path, Entry e);
  // Writes every entry into an opened libarchive writer.
  Status write_entries(::archive* a) const;

  std::map<std::string, Entry> entries_;  // key: relative path ("bin/sh")
};

// "/a//b/" -> "a/b"; rejects relative paths, "." and "..", and "/" itself.
Result<std::string> normalize_guest_path(std::string_view guest_path);

}  // namespace ktstr::initramfs
