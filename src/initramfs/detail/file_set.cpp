#include "initramfs/detail/file_set.h"

#include <array>

namespace ktstr::initramfs::detail {

namespace {

// Where the guest's ld.so looks without an ld.so.cache (Debian glibc).
constexpr std::array<std::string_view, 4> kGuestLoaderDirs = {
    "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"};

}  // namespace

bool FileSet::taken(const std::string& guest_in) const {
  std::string guest = std::filesystem::path(guest_in).lexically_normal().string();
  return files_.count(guest) || symlinks_.count(guest);
}

Status FileSet::add_file(const std::string& guest_in, const std::filesystem::path& host,
                         mode_t mode) {
  std::string guest = std::filesystem::path(guest_in).lexically_normal().string();
  std::error_code ec;
  auto real = std::filesystem::canonical(host, ec);
  if (ec) {
    errno = ec.value();
    return io_error("cannot resolve " + host.string());
  }
  if (auto it = files_.find(guest); it != files_.end()) {
    if (it->second.host == real) {
      return {};
    }
    return invalid_argument(guest + " would hold both " + it->second.host.string() + " and " +
                            real.string() + "; give one of them another guest path");
  }
  if (symlinks_.count(guest)) {
    return invalid_argument(guest + " is already a symlink; give " + host.string() +
                            " another guest path");
  }
  files_.emplace(guest, HostFile{real, mode});
  return {};
}

void FileSet::add_symlink_if_free(const std::string& guest_in, const std::string& target) {
  std::string guest = std::filesystem::path(guest_in).lexically_normal().string();
  if (!taken(guest)) {
    symlinks_.emplace(guest, target);
  }
}

Status FileSet::add_binary(const std::string& guest, const std::filesystem::path& host,
                           mode_t mode) {
  KTSTR_TRY(add_file(guest, host, mode));
  KTSTR_ASSIGN(ElfDeps deps, elf_dependencies(host, paths_), "libraries of " + host.string());
  if (!deps.is_dynamic) {
    return {};
  }
  if (!deps.interpreter.empty()) {
    KTSTR_TRY(add_file(deps.interpreter.string(), deps.interpreter_real, 0755));
  }
  for (const auto& lib : deps.libraries) {
    KTSTR_TRY(add_file(lib.path.string(), lib.real_path, 0755), "library of " + host.string());
    auto dir = lib.path.parent_path().string();
    bool visible = false;
    for (auto d : kGuestLoaderDirs) {
      visible = visible || dir == d;
    }
    if (!visible) {
      add_symlink_if_free(std::string(kGuestLoaderDirs[0]) + "/" + lib.path.filename().string(),
                          lib.path.string());
    }
  }
  return {};
}

}  // namespace ktstr::initramfs::detail
