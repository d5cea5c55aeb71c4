// Shared-library closure of an ELF binary, resolved on the host the way
// glibc's ld.so would: DT_RPATH (of the object and its loaders, unless it has
// DT_RUNPATH), DT_RUNPATH, the /etc/ld.so.conf directories (a stand-in for
// ld.so.cache), then the default directories. $ORIGIN, $LIB and $PLATFORM
// are expanded. Candidates of the wrong ELF class/machine are skipped, as
// ld.so does. LD_LIBRARY_PATH is ignored: the guest will not have it.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "util/result.h"

namespace ktstr::initramfs {

struct SearchPaths {
  std::vector<std::filesystem::path> conf_dirs;     // from ld.so.conf, in order
  std::vector<std::filesystem::path> default_dirs;  // searched last
};

// Reads /etc/ld.so.conf (following `include` globs); a missing or unreadable
// file just yields no conf_dirs. default_dirs: /lib/x86_64-linux-gnu,
// /usr/lib/x86_64-linux-gnu, /lib64, /lib, /usr/lib, /usr/lib64.
SearchPaths default_search_paths();
// Same, from another ld.so.conf (tests).
SearchPaths search_paths_from_conf(const std::filesystem::path& ld_so_conf);

struct SharedLib {
  std::string name;                 // as in DT_NEEDED ("libc.so.6")
  std::filesystem::path path;       // where it was found ("/lib/x86_64-linux-gnu/libc.so.6");
                                    // install it here in the guest
  std::filesystem::path real_path;  // symlinks resolved: the bytes to copy
};

struct ElfDeps {
  bool is_elf = false;                     // false for scripts and other files: not an error
  bool is_dynamic = false;                 // has PT_INTERP or DT_NEEDED
  std::filesystem::path interpreter;       // PT_INTERP as written ("/lib64/ld-linux-x86-64.so.2")
  std::filesystem::path interpreter_real;  // symlinks resolved
  // Transitive closure in load (breadth-first) order, deduplicated; the
  // interpreter is not repeated here even when a library names it.
  std::vector<SharedLib> libraries;
};

// A static binary gives is_dynamic=false and no libraries. A library that
// cannot be found is an error naming it, the object needing it and the
// directories searched.
Result<ElfDeps> elf_dependencies(const std::filesystem::path& binary, const SearchPaths& paths);

}  // namespace ktstr::initramfs
