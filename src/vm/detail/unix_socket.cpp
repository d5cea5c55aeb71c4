#include "vm/detail/unix_socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace ktstr::vm::detail {

namespace {

Result<sockaddr_un> make_addr(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string& s = path.native();
  if (s.empty() || s.size() >= sizeof addr.sun_path)
    return invalid_argument(fmt::format(
        "unix socket path {} is {} bytes; the limit is {}: set TMPDIR to a shorter directory", s,
        s.size(), sizeof addr.sun_path - 1));
  std::memcpy(addr.sun_path, s.c_str(), s.size() + 1);
  return addr;
}

}  // namespace

Result<UniqueFd> listen_unix(const std::filesystem::path& path) {
  KTSTR_ASSIGN(sockaddr_un addr, make_addr(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return io_error("socket(AF_UNIX)");
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return io_error("cannot bind " + path.string());
  if (::listen(fd.get(), 4) != 0) return io_error("cannot listen on " + path.string());
  return fd;
}

Result<UniqueFd> connect_unix(const std::filesystem::path& path) {
  KTSTR_ASSIGN(sockaddr_un addr, make_addr(path));
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return io_error("socket(AF_UNIX)");
  int r;
  do {
    r = ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  } while (r != 0 && errno == EINTR);
  if (r != 0) return io_error("cannot connect to " + path.string());
  return fd;
}

Result<UniqueFd> accept_before(int listen_fd, Deadline deadline, const char* what,
                               const std::function<Status()>& abort_check) {
  while (true) {
    if (abort_check) KTSTR_TRY(abort_check());
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      return timeout_error(fmt::format("QEMU did not connect to the {} socket in time", what));
    pollfd pfd{listen_fd, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(std::min<long>(left.count(), 50)));
    if (r < 0 && errno != EINTR) return io_error("poll");
    if (r <= 0) continue;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd >= 0) return UniqueFd(fd);
    if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
      return io_error(fmt::format("accepting on the {} socket", what));
  }
}

}  // namespace ktstr::vm::detail
