#include "monitor/host_starvation.h"

#include <algorithm>
#include <charconv>
#include <fstream>

#include <fmt/format.h>

namespace ktstr::monitor {

Result<SchedStat> parse_schedstat(std::string_view text) {
  uint64_t v[3] = {};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (int i = 0; i < 3; ++i) {
    while (p < end && *p == ' ') ++p;
    auto [next, ec] = std::from_chars(p, end, v[i]);
    if (ec != std::errc())
      return protocol_error(
          fmt::format("schedstat '{}': field {} is not a number", text.substr(0, 64), i + 1));
    p = next;
  }
  return SchedStat{v[0], v[1], v[2]};
}

Result<SchedStat> read_schedstat(pid_t pid, pid_t tid) {
  const std::string path = fmt::format("/proc/{}/task/{}/schedstat", pid, tid);
  std::ifstream in(path);
  if (!in) return io_error("opening " + path);
  std::string line;
  std::getline(in, line, '\n');
  KTSTR_ASSIGN(SchedStat s, parse_schedstat(line), path);
  return s;
}

double wait_share(uint64_t wait_delta_ns, uint64_t interval_ns) {
  if (interval_ns == 0) return 0;
  return std::clamp(static_cast<double>(wait_delta_ns) / static_cast<double>(interval_ns), 0.0,
                    1.0);
}

HostStarvation::HostStarvation(pid_t qemu_pid, std::vector<pid_t> vcpu_threads)
    : pid_(qemu_pid), tids_(std::move(vcpu_threads)) {}

double HostStarvation::update(std::chrono::steady_clock::time_point now, std::string* problem) {
  const uint64_t interval_ns =
      last_t_
          ? static_cast<uint64_t>(std::max<int64_t>(
                0, std::chrono::duration_cast<std::chrono::nanoseconds>(now - *last_t_).count()))
          : 0;
  double share = 0;
  for (pid_t tid : pid_ > 0 ? tids_ : std::vector<pid_t>{}) {
    auto s = read_schedstat(pid_, tid);
    if (!s.ok()) {
      if (!reported_ && problem) *problem = "host_starved: " + s.error().message();
      reported_ = true;
      last_wait_.erase(tid);
      continue;
    }
    auto it = last_wait_.find(tid);
    if (it != last_wait_.end() && interval_ns > 0 && s->wait_ns >= it->second)
      share = std::max(share, wait_share(s->wait_ns - it->second, interval_ns));
    last_wait_[tid] = s->wait_ns;
  }
  last_t_ = now;
  return share;
}

}  // namespace ktstr::monitor
