// concatenate: base + overlay -> the single file QEMU takes as -initrd.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "initramfs/builder.h"
#include "util/fd.h"
#include "util/files.h"
#include "util/scope_guard.h"

namespace ktstr::initramfs {

namespace {

// Copies `len` bytes in -> out at their current offsets; copy_file_range
// first (in-kernel, may share extents), plain read/write if unsupported.
Status copy_fd(int in, int out, off_t len, const std::string& name) {
  bool use_cfr = true;
  std::vector<char> buf;
  while (len > 0) {
    if (use_cfr) {
      ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<size_t>(len), 0);
      if (n > 0) {
        len -= n;
        continue;
      }
      if (n == 0) {
        return Error(Errc::kIo, "initramfs: " + name + " shrank while being copied");
      }
      if (errno == EINTR) {
        continue;
      }
      if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP) {
        return io_error("initramfs: cannot copy " + name);
      }
      use_cfr = false;
    }
    if (buf.empty()) {
      buf.resize(1 << 20);
    }
    ssize_t n = ::read(in, buf.data(), std::min<size_t>(buf.size(), static_cast<size_t>(len)));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return io_error("initramfs: cannot read " + name);
    }
    if (n == 0) {
      return Error(Errc::kIo, "initramfs: " + name + " shrank while being copied");
    }
    KTSTR_TRY(write_all(out, std::string_view(buf.data(), static_cast<size_t>(n))),
              "initramfs: copying " + name);
    len -= n;
  }
  return {};
}

}  // namespace

Status concatenate(const std::vector<std::filesystem::path>& parts,
                   const std::filesystem::path& out) {
  struct stat ost;
  if (::stat(out.c_str(), &ost) == 0) {
    for (const auto& part : parts) {
      struct stat pst;
      if (::stat(part.c_str(), &pst) == 0 && pst.st_dev == ost.st_dev && pst.st_ino == ost.st_ino) {
        return invalid_argument("initramfs: concatenate output " + out.string() +
                                " is also an input (" + part.string() + ")");
      }
    }
  }
  UniqueFd ofd(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!ofd.valid()) {
    return io_error("initramfs: cannot create " + out.string());
  }
  ScopeGuard remove_partial([&] { ::unlink(out.c_str()); });
  off_t total = 0;
  for (const auto& part : parts) {
    UniqueFd ifd(::open(part.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ifd.valid()) {
      return io_error("initramfs: cannot open " + part.string());
    }
    struct stat st;
    if (::fstat(ifd.get(), &st) != 0) {
      return io_error("initramfs: cannot stat " + part.string());
    }
    KTSTR_TRY(copy_fd(ifd.get(), ofd.get(), st.st_size, part.string()));
    total += st.st_size;
    if (off_t pad = (4 - total % 4) % 4; pad > 0) {
      KTSTR_TRY(write_all(ofd.get(), std::string_view("\0\0\0", static_cast<size_t>(pad))),
                "initramfs: padding " + out.string());
      total += pad;
    }
  }
  if (::close(ofd.release()) != 0) {
    return io_error("initramfs: cannot write " + out.string());
  }
  remove_partial.cancel();
  return {};
}

}  // namespace ktstr::initramfs
