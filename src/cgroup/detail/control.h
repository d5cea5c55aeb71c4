// Low-level cgroupfs access shared by the cgroup module: control-file I/O
// that keeps errno (callers map EBUSY/ESRCH/ENOSPC to advice), cgroup.events
// waits with a deadline, and name validation.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::cgroup::detail {

using Clock = std::chrono::steady_clock;

// One write(2) of `value` to an existing control file (never creates it).
// The error keeps errno.
Status write_control(const std::filesystem::path& file, std::string_view value);
Result<std::string> read_control(const std::filesystem::path& file);
// Whitespace-separated words ("cpu io memory").
Result<std::vector<std::string>> read_words(const std::filesystem::path& file);
// The pids listed in a cgroup.procs file.
Result<std::vector<pid_t>> read_pids(const std::filesystem::path& file);

// Whether <dir>/cgroup.events has the line "<key> <value>".
Result<bool> event_is(const std::filesystem::path& dir, std::string_view key,
                      std::string_view value);
// Waits (poll on cgroup.events, re-checked at least every 50ms) until
// "<key> <value>" holds; kTimeout at the deadline.
Status wait_event(const std::filesystem::path& dir, std::string_view key, std::string_view value,
                  Clock::time_point deadline);
// A short pause for bounded retry loops: 1ms doubling up to 50ms.
void backoff(int& attempt);

bool is_cgroup2(const std::filesystem::path& dir);
// The top of the cgroup2 mount holding `dir` (walks up while st_dev is equal).
std::filesystem::path hierarchy_root(const std::filesystem::path& dir);

// "cg_0", "parent/child": components of [A-Za-z0-9_.-]+, not "." or "..".
Status validate_name(std::string_view name);

}  // namespace ktstr::cgroup::detail
