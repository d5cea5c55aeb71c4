#include "cgroup/detect.h"

#include <linux/magic.h>
#include <sys/statfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "cgroup/detail/control.h"

namespace ktstr::cgroup {

namespace fs = std::filesystem;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

}  // namespace

Result<fs::path> find_cgroup2_root(const fs::path& mount) {
  struct statfs st {};
  std::string found;
  if (::statfs(mount.c_str(), &st) != 0) {
    found = mount.string() + ": " + std::strerror(errno);
  } else if (st.f_type == CGROUP2_SUPER_MAGIC) {
    return mount;
  } else if (st.f_type == TMPFS_MAGIC || st.f_type == CGROUP_SUPER_MAGIC) {
    found = "this host has cgroup v1";  // v1/hybrid: a tmpfs of v1 hierarchies
  } else {
    found = "it is not a cgroup2 mount";
  }
  return unavailable("ktstr run needs cgroup v2 at " + mount.string() + " (" + found +
                     "); boot with systemd.unified_cgroup_hierarchy=1 or use `ktstr test` to "
                     "run in a VM");
}

Result<std::vector<std::string>> available_controllers(const fs::path& dir) {
  return detail::read_words(dir / "cgroup.controllers");
}

Status check_controllers(const fs::path& root, const std::vector<std::string>& wanted) {
  KTSTR_ASSIGN(auto have, available_controllers(root), "checking cgroup controllers");
  std::vector<std::string> missing;
  for (const auto& w : wanted)
    if (std::find(have.begin(), have.end(), w) == have.end()) missing.push_back(w);
  if (missing.empty()) return {};
  return unavailable("cgroup controller(s) " + join(missing) + " missing from " +
                     (root / "cgroup.controllers").string() + " (available: " + join(have) +
                     "); they are bound to cgroup v1 or disabled (cgroup_disable=); boot with "
                     "systemd.unified_cgroup_hierarchy=1 or use `ktstr test` to run in a VM");
}

}  // namespace ktstr::cgroup
