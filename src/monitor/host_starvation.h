// How much of a sampling interval the guest was kept off the host CPU: the
// vCPU threads' run-queue wait (/proc/<qemu>/task/<tid>/schedstat: run ns,
// wait ns, time slices). The monitor exempts intervals where this share is
// high from its sustained checks (docs/monitor.md). Guest-side clocks are no
// witness: a guest whose CPUs all idle tickless stops its jiffies too, which
// is exactly what a stalled scheduler looks like.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::monitor {

struct SchedStat {
  uint64_t run_ns = 0;
  uint64_t wait_ns = 0;  // runnable but waiting on a host run queue
  uint64_t slices = 0;
};

// "123 456 7\n"; errors name what is wrong with the text.
Result<SchedStat> parse_schedstat(std::string_view text);
Result<SchedStat> read_schedstat(pid_t pid, pid_t tid);

// Share 0..1 of `interval_ns` spent waiting: wait delta / interval.
double wait_share(uint64_t wait_delta_ns, uint64_t interval_ns);

class HostStarvation {
 public:
  HostStarvation(pid_t qemu_pid, std::vector<pid_t> vcpu_threads);
  // The share for the interval since the previous call (0 on the first),
  // the largest over the vCPU threads. A schedstat that cannot be read is
  // skipped; the first such error is put in `*problem` once.
  double update(std::chrono::steady_clock::time_point now, std::string* problem);

 private:
  pid_t pid_;
  std::vector<pid_t> tids_;
  std::optional<std::chrono::steady_clock::time_point> last_t_;
  std::map<pid_t, uint64_t> last_wait_;
  bool reported_ = false;
};

}  // namespace ktstr::monitor
