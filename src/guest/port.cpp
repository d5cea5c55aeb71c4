#include "guest/port.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <system_error>
#include <thread>
#include <vector>

#include "util/files.h"

namespace ktstr::guest {

Result<std::string> find_port_device(const std::filesystem::path& sysfs_root,
                                     std::string_view port_name) {
  auto dir = sysfs_root / "class" / "virtio-ports";
  std::error_code ec;
  std::vector<std::string> devices;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    devices.push_back(entry.path().filename().string());
  if (ec) return not_found(dir.string() + ": " + ec.message() + " (no virtio-serial device?)");
  std::sort(devices.begin(), devices.end());  // deterministic if a name repeats
  for (const auto& dev : devices) {
    auto name = read_file_limited(dir / dev / "name", 256);
    if (name.ok() && trim(*name) == port_name) return dev;
  }
  return not_found("no virtio port named \"" + std::string(port_name) + "\" in " + dir.string() +
                   " (" + std::to_string(devices.size()) + " ports)");
}

Result<UniqueFd> open_port(const std::filesystem::path& sysfs_root,
                           const std::filesystem::path& dev_root, std::string_view port_name,
                           std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto step = std::chrono::milliseconds(5);
  while (true) {
    Error last = not_found("");
    auto dev = find_port_device(sysfs_root, port_name);
    if (dev.ok()) {
      auto path = dev_root / *dev;
      UniqueFd fd(::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
      if (fd.valid()) return fd;
      last = io_error("cannot open " + path.string());
    } else {
      last = std::move(dev).error();
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return std::move(last).context("waiting " + std::to_string(timeout.count()) +
                                     " ms for port " + std::string(port_name));
    std::this_thread::sleep_for(step);
    step = std::min(step * 2, std::chrono::milliseconds(100));
  }
}

void discard_host_input(int port_fd) {
  uint8_t buf[4096];
  while (port_fd >= 0) {
    ssize_t n = ::read(port_fd, buf, sizeof buf);
    if (n > 0 || (n < 0 && errno == EINTR)) continue;
    return;  // EOF, EAGAIN or an error: nothing (more) to drop
  }
}

bool wait_host_ack(int port_fd, std::chrono::milliseconds timeout) {
  if (port_fd < 0 || timeout.count() <= 0) return false;
  pollfd p{port_fd, POLLIN, 0};
  int r;
  do {
    r = ::poll(&p, 1, static_cast<int>(timeout.count()));  // EINTR restarts: rare, bounded
  } while (r < 0 && errno == EINTR);
  if (r <= 0 || !(p.revents & POLLIN)) return false;
  uint8_t b;
  return ::read(port_fd, &b, 1) == 1;  // 0 = end of file: a hangup, not an ack
}

}  // namespace ktstr::guest
