// FileLock: an exclusive flock(2) on a lock file, taken with a deadline and
// released on destruction (also by the kernel if the process dies).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "util/fd.h"
#include "util/result.h"

namespace ktstr::kernel::detail {

class FileLock {
 public:
  // Polls until the lock is free or `timeout` passes; `what` names the lock
  // in the timeout error ("the kernel cache").
  static Result<FileLock> acquire(const std::filesystem::path& path,
                                  std::chrono::milliseconds timeout, const std::string& what);
  FileLock() = default;
  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing it drops the lock
};

}  // namespace ktstr::kernel::detail
