// write_overlay: the per-run archive (arguments, scheduler, -i includes).
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "initramfs/builder.h"
#include "initramfs/cpio_writer.h"
#include "initramfs/detail/file_set.h"
#include "initramfs/elf_deps.h"

namespace ktstr::initramfs {

namespace {

namespace fs = std::filesystem;

bool executable(mode_t m) { return (m & 0111) != 0; }

// One include: a file (with its closure) or a directory tree.
Status add_include(const Include& inc, detail::FileSet& set, CpioWriter& w) {
  struct stat st;
  if (::stat(inc.host_path.c_str(), &st) != 0) {
    return io_error("include " + inc.host_path.string());
  }
  auto name = inc.host_path.lexically_normal().filename();
  if (name.empty()) {
    name = inc.host_path.lexically_normal().parent_path().filename();
  }
  std::string guest = inc.guest_path.empty() ? "/include/" + name.string() : inc.guest_path;

  if (S_ISREG(st.st_mode)) {
    KTSTR_TRY(set.add_binary(guest, inc.host_path, st.st_mode & 0777));
    if (inc.link_in_bin && executable(st.st_mode) &&
        fs::path(guest).lexically_normal().parent_path() != "/bin") {
      std::string link = "/bin/" + name.string();
      if (set.taken(link)) {
        return invalid_argument("include " + inc.host_path.string() + ": " + link +
                                " is already used; rename it or set link_in_bin=false");
      }
      set.add_symlink_if_free(link, guest);
    }
    return {};
  }
  if (!S_ISDIR(st.st_mode)) {
    return invalid_argument("include " + inc.host_path.string() +
                            " is neither a file nor a directory");
  }

  KTSTR_TRY(w.add_directory(guest, st.st_mode & 07777));
  std::error_code ec;
  fs::recursive_directory_iterator it(inc.host_path, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const auto& p = it->path();
    std::string g = guest + "/" + p.lexically_relative(inc.host_path).string();
    struct stat es;
    if (::lstat(p.c_str(), &es) != 0) {
      return io_error("include " + p.string());
    }
    if (S_ISLNK(es.st_mode)) {
      std::error_code rec;
      auto target = fs::read_symlink(p, rec);
      if (rec) {
        errno = rec.value();
        return io_error("include: cannot read symlink " + p.string());
      }
      KTSTR_TRY(w.add_symlink(g, target.string()), "include " + p.string());
    } else if (S_ISDIR(es.st_mode)) {
      KTSTR_TRY(w.add_directory(g, es.st_mode & 07777), "include " + p.string());
    } else if (S_ISREG(es.st_mode)) {
      if (executable(es.st_mode)) {
        KTSTR_TRY(set.add_binary(g, p, es.st_mode & 0777), "include");
      } else {
        KTSTR_TRY(set.add_file(g, p, es.st_mode & 0777), "include");
      }
    }  // sockets, fifos, devices: nothing useful to copy
  }
  if (ec) {
    errno = ec.value();
    return io_error("include: cannot walk " + inc.host_path.string());
  }
  return {};
}

}  // namespace

Status write_overlay(const OverlaySpec& spec, const std::filesystem::path& out) {
  CpioWriter w;
  detail::FileSet set(default_search_paths());
  for (const auto& [guest, contents] : spec.files) {
    KTSTR_TRY(w.add_file(guest, contents, 0644), "overlay");
  }
  for (const auto& inc : spec.includes) {
    KTSTR_TRY(add_include(inc, set, w), "overlay");
  }
  for (const auto& [guest, f] : set.files()) {
    KTSTR_TRY(w.add_file_from_host(guest, f.host, f.mode), "overlay");
  }
  for (const auto& [guest, target] : set.symlinks()) {
    KTSTR_TRY(w.add_symlink(guest, target), "overlay");
  }
  return w.write_to_file(out);
}

}  // namespace ktstr::initramfs
