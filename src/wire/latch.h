// Latch: a one-way, run-wide flag (kill, boot complete) that threads can
// test cheaply and wait on with poll(): fire() sets an atomic and makes an
// eventfd readable for good (it is never drained, so every waiter sees it).
#pragma once

#include <atomic>
#include <chrono>

#include "util/fd.h"
#include "util/result.h"

namespace ktstr::wire {

class Latch {
 public:
  Latch() = default;
  Latch(const Latch&) = delete;
  Latch& operator=(const Latch&) = delete;

  // Creates the eventfd. Before open() the flag still works; fd() is -1.
  Status open();
  // Sets the latch; true only for the call that set it.
  bool fire();
  bool is_set() const { return set_.load(std::memory_order_acquire); }
  // Readable (POLLIN) once fired.
  int fd() const { return fd_.get(); }
  // Waits until fired or the timeout passes; returns is_set(). Does not wait
  // before open().
  bool wait_for(std::chrono::milliseconds timeout) const;

 private:
  std::atomic<bool> set_{false};
  UniqueFd fd_;
};

}  // namespace ktstr::wire
