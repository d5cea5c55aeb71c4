// TimedChild: a child process for the VM boot benchmark, watched through a
// pidfd (so its exit can be polled together with its output pipe) and reaped
// with wait4, which also yields the CPU time it and its reaped descendants
// (ktstr's QEMU) used. The destructor ends a still-running child (SIGTERM, a
// grace period, SIGKILL) and reaps it; the child also gets a parent-death
// signal, so it cannot outlive a benchmark that is killed outright.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"
#include "util/result.h"
#include "util/subprocess.h"

namespace ktstr::bench {

using Clock = std::chrono::steady_clock;

struct SpawnSpec {
  std::vector<std::string> argv;       // argv[0] is a path (no $PATH search)
  int stdout_fd = -1;                  // -1: /dev/null
  int stderr_fd = -1;                  // -1: /dev/null
  std::vector<std::string> extra_env;  // "KEY=VALUE", added to (or replacing in) ours
};

struct ChildEnd {
  ExitStatus status;
  Clock::time_point when;           // when the pidfd reported the exit
  std::chrono::milliseconds cpu{};  // user + system, including reaped descendants
};

class TimedChild {
 public:
  static Result<TimedChild> spawn(const SpawnSpec& spec);
  TimedChild() = default;
  ~TimedChild();
  TimedChild(TimedChild&& o) noexcept;
  TimedChild& operator=(TimedChild&& o) noexcept;
  TimedChild(const TimedChild&) = delete;
  TimedChild& operator=(const TimedChild&) = delete;

  pid_t pid() const { return pid_; }
  // Readable once the child has exited (and until it is reaped).
  int pidfd() const { return pidfd_.get(); }
  // Reaps the child if it has exited; nullopt while it runs.
  std::optional<ChildEnd> try_reap();
  // Waits until the child exits, the deadline passes (timeout error) or
  // the benchmark is interrupted (Ctrl-C).
  Result<ChildEnd> wait_until(Clock::time_point deadline);

 private:
  void end();  // SIGTERM, grace, SIGKILL, reap
  pid_t pid_ = -1;
  UniqueFd pidfd_;
};

}  // namespace ktstr::bench
