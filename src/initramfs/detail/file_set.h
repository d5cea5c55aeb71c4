// FileSet: the host files and symlinks destined for one archive, with the
// library closure of every binary added to it. Shared by the base and
// overlay builders, which differ only in how they write it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <map>
#include <string>

#include "initramfs/elf_deps.h"
#include "util/result.h"

namespace ktstr::initramfs::detail {

struct HostFile {
  std::filesystem::path host;  // real path: the bytes to copy
  mode_t mode;
};

class FileSet {
 public:
  explicit FileSet(SearchPaths paths) : paths_(std::move(paths)) {}

  // Adds `host` at `guest`; an ELF executable also brings its interpreter and
  // libraries. Re-adding the same host file at the same path is a no-op.
  Status add_binary(const std::string& guest, const std::filesystem::path& host, mode_t mode);
  Status add_file(const std::string& guest, const std::filesystem::path& host, mode_t mode);
  // Does nothing if `guest` is already taken.
  void add_symlink_if_free(const std::string& guest, const std::string& target);

  bool taken(const std::string& guest) const;
  const std::map<std::string, HostFile>& files() const { return files_; }
  const std::map<std::string, std::string>& symlinks() const { return symlinks_; }

 private:
  SearchPaths paths_;
  std::map<std::string, HostFile> files_;        // guest path -> host file
  std::map<std::string, std::string> symlinks_;  // guest path -> target
};

}  // namespace ktstr::initramfs::detail
