#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <thread>

#include "kernel/detail/lock.h"
#include "util/interrupt.h"

namespace ktstr::kernel::detail {

Result<FileLock> FileLock::acquire(const std::filesystem::path& path,
                                   std::chrono::milliseconds timeout, const std::string& what) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error("cannot open lock file " + path.string());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto step = std::chrono::milliseconds(5);
  while (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) return io_error("cannot lock " + path.string());
    if (interrupted()) return Error(Errc::kFailed, "interrupted while waiting for " + what);
    if (std::chrono::steady_clock::now() >= deadline)
      return timeout_error(what + " is locked by another ktstr process (" + path.string() +
                           "); wait for it to finish");
    std::this_thread::sleep_for(step);
    step = std::min(step * 2, std::chrono::milliseconds(200));
  }
  return FileLock(std::move(fd));
}

}  // namespace ktstr::kernel::detail
