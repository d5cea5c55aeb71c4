#include "cgroup/detail/subtree.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <system_error>

namespace ktstr::cgroup::detail {

namespace fs = std::filesystem;

namespace {

std::string pid_list(const std::vector<pid_t>& pids) {
  std::string out;
  for (size_t i = 0; i < pids.size() && i < 8; ++i)
    out += (i ? ", " : "") + std::to_string(pids[i]);
  if (pids.size() > 8) out += ", ...";
  return out;
}

bool gone(const fs::path& dir) {
  std::error_code ec;
  return !fs::exists(dir, ec);
}

}  // namespace

std::vector<fs::path> subtree(const fs::path& dir) {
  std::vector<fs::path> out{dir};
  std::error_code ec;
  // Pre-order: a parent is listed before its descendants.
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code dec;
    if (it->is_directory(dec) && !it->is_symlink(dec)) out.push_back(it->path());
  }
  return out;
}

Result<std::vector<pid_t>> subtree_pids(const fs::path& dir) {
  std::vector<pid_t> all;
  for (const auto& d : subtree(dir)) {
    auto pids = read_pids(d / "cgroup.procs");
    if (!pids.ok()) {
      if (gone(d)) continue;  // removed while we walked
      return std::move(pids).error();
    }
    all.insert(all.end(), pids->begin(), pids->end());
  }
  return all;
}

Status ensure_not_inside(const fs::path& dir, const char* action) {
  KTSTR_ASSIGN(auto pids, subtree_pids(dir));
  if (std::find(pids.begin(), pids.end(), ::getpid()) != pids.end())
    return invalid_argument(std::string("refusing to ") + action + " " + dir.string() +
                            ": this process (pid " + std::to_string(::getpid()) +
                            ") is inside it; move it out first");
  return {};
}

Status kill_subtree(const fs::path& dir, Clock::time_point deadline) {
  if (gone(dir)) return {};
  KTSTR_TRY(ensure_not_inside(dir, "kill the tasks of"));
  std::error_code ec;
  bool has_kill = fs::exists(dir / "cgroup.kill", ec);
  if (has_kill) {
    // Kills the whole subtree atomically, including tasks forking right now.
    auto s = write_control(dir / "cgroup.kill", "1");
    if (!s.ok() && !gone(dir)) return std::move(s).error();
  }
  for (int attempt = 0;;) {
    if (gone(dir)) return {};
    if (!has_kill) {  // Linux < 5.14: signal each pid; repeat to catch forks.
      auto pids = subtree_pids(dir);
      if (pids.ok())
        for (pid_t pid : *pids) ::kill(pid, SIGKILL);
    }
    auto empty = event_is(dir, "populated", "0");
    if (empty.ok() && *empty) return {};
    if (!empty.ok() && gone(dir)) return {};
    if (Clock::now() >= deadline) {
      auto left = subtree_pids(dir);
      return timeout_error("tasks in " + dir.string() + " did not exit after SIGKILL (pids: " +
                           (left.ok() ? pid_list(*left) : std::string("?")) +
                           "); they may be stuck in the kernel (state D)");
    }
    if (has_kill) {
      auto w = wait_event(dir, "populated", "0",
                          std::min(deadline, Clock::now() + std::chrono::milliseconds(50)));
      (void)w;  // re-checked at the top of the loop
    } else {
      backoff(attempt);
    }
  }
}

Status move_subtree_tasks(const fs::path& dir, const fs::path& dst, Clock::time_point deadline) {
  if (gone(dir)) return {};
  auto dst_procs = dst / "cgroup.procs";
  for (int attempt = 0;;) {
    KTSTR_ASSIGN(auto pids, subtree_pids(dir));
    if (pids.empty()) return {};
    for (pid_t pid : pids) {
      auto s = write_control(dst_procs, std::to_string(pid));
      if (!s.ok() && s.error().sys_errno() != ESRCH)  // ESRCH: it just exited
        return std::move(s).error().context("moving pid " + std::to_string(pid) + " out of " +
                                            dir.string());
    }
    if (Clock::now() >= deadline)
      return timeout_error("tasks keep appearing in " + dir.string() + " (pids: " + pid_list(pids) +
                           "); freeze or kill the cgroup first");
    backoff(attempt);
  }
}

Status remove_subtree(const fs::path& dir, Clock::time_point deadline) {
  auto dirs = subtree(dir);
  for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {  // children first
    for (int attempt = 0;;) {
      if (::rmdir(it->c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY) return io_error("cannot remove cgroup " + it->string());
      if (Clock::now() >= deadline) {
        auto left = subtree_pids(*it);
        return Error(Errc::kTimeout,
                     "cannot remove cgroup " + it->string() +
                         ": still busy (pids: " + (left.ok() ? pid_list(*left) : std::string("?")) +
                         "); kill its tasks, then run `ktstr cleanup`",
                     EBUSY);
      }
      backoff(attempt);
    }
  }
  return {};
}

}  // namespace ktstr::cgroup::detail
