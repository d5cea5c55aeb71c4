#include "cgroup/cleanup.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <system_error>

#include "cgroup/detail/subtree.h"
#include "cgroup/detect.h"

namespace ktstr::cgroup {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "ktstr-";

bool alive(pid_t pid) { return pid == ::getpid() || ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::string tree_root_name(pid_t pid, std::string_view suffix) {
  return std::string(kPrefix) + std::to_string(pid) + "-" + std::string(suffix);
}

std::optional<pid_t> tree_root_owner(std::string_view name) {
  if (!name.starts_with(kPrefix)) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  pid_t pid = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
  // Digits, then '-' and a non-empty suffix.
  if (ec != std::errc() || p == name.data() || pid <= 0) return std::nullopt;
  if (p == name.data() + name.size() || *p != '-' || p + 1 == name.data() + name.size())
    return std::nullopt;
  return pid;
}

Result<std::vector<fs::path>> cleanup_stale(const fs::path& root,
                                            std::chrono::milliseconds timeout_each) {
  KTSTR_TRY(find_cgroup2_root(root), "cleaning up stale cgroups");
  std::vector<fs::path> stale;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code dec;
    if (!it->is_directory(dec)) continue;
    auto owner = tree_root_owner(it->path().filename().string());
    if (owner && !alive(*owner)) stale.push_back(it->path());
  }
  if (ec) return Error(Errc::kIo, "cannot list " + root.string() + ": " + ec.message(), ec.value());
  std::sort(stale.begin(), stale.end());

  std::vector<fs::path> removed;
  Status first;
  for (const auto& dir : stale) {
    auto deadline = detail::Clock::now() + timeout_each;
    auto s = detail::kill_subtree(dir, deadline);
    if (s.ok()) s = detail::remove_subtree(dir, deadline);
    if (s.ok())
      removed.push_back(dir);
    else if (first.ok())
      first = std::move(s).error().context("removing stale cgroup " + dir.string());
  }
  if (!first.ok())
    return std::move(first).error().context("removed " + std::to_string(removed.size()) +
                                            " stale cgroup(s)");
  return removed;
}

}  // namespace ktstr::cgroup
