#include "wire/latch.h"

#include <poll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>

namespace ktstr::wire {

Status Latch::open() {
  fd_.reset(::eventfd(is_set() ? 1 : 0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd_.valid()) return io_error("eventfd for wire latch");
  return {};
}

bool Latch::fire() {
  if (set_.exchange(true, std::memory_order_acq_rel)) return false;
  if (fd_.valid()) {
    uint64_t one = 1;
    // Cannot fail short of a bad fd: the counter is written once.
    [[maybe_unused]] ssize_t n = ::write(fd_.get(), &one, sizeof one);
  }
  return true;
}

bool Latch::wait_for(std::chrono::milliseconds timeout) const {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  while (!is_set()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    if (!fd_.valid()) return is_set();  // nothing to wait on
    pollfd p{fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (r < 0 && errno != EINTR) break;
  }
  return is_set();
}

}  // namespace ktstr::wire
