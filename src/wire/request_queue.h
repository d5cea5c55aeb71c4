// RequestQueue<T>: a bounded multi-producer/multi-consumer FIFO for requests
// the reader thread hands to the coordinator. Waitable both ways: pop_for()
// (condition variable) or poll() on fd(), which is readable exactly while
// the queue is non-empty (an EFD_SEMAPHORE eventfd tracks the count).
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

#include "util/fd.h"
#include "util/result.h"

namespace ktstr::wire {

template <typename T>
class RequestQueue {
 public:
  explicit RequestQueue(size_t capacity) : capacity_(capacity) {}
  RequestQueue(const RequestQueue&) = delete;
  RequestQueue& operator=(const RequestQueue&) = delete;

  // Creates the eventfd; call before use from other threads.
  Status open() {
    std::lock_guard lock(mu_);
    fd_.reset(::eventfd(static_cast<unsigned>(items_.size()),
                        EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE));
    if (!fd_.valid()) return io_error("eventfd for wire request queue");
    return {};
  }

  // False (and the item is dropped) when the queue is full.
  bool push(T item) {
    {
      std::lock_guard lock(mu_);
      if (items_.size() >= capacity_) return false;
      items_.push_back(std::move(item));
      signal(+1);
    }
    cv_.notify_one();
    return true;
  }

  std::optional<T> try_pop() {
    std::lock_guard lock(mu_);
    return pop_locked();
  }

  std::optional<T> pop_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !items_.empty(); });
    return pop_locked();
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  int fd() const { return fd_.get(); }

 private:
  std::optional<T> pop_locked() {
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    signal(-1);
    return item;
  }
  // Keeps the eventfd count equal to items_.size() (called under mu_).
  void signal(int delta) {
    if (!fd_.valid()) return;
    uint64_t v = 1;
    [[maybe_unused]] ssize_t n =
        delta > 0 ? ::write(fd_.get(), &v, sizeof v) : ::read(fd_.get(), &v, sizeof v);
  }

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;
  UniqueFd fd_;
};

}  // namespace ktstr::wire
