#include "guest/system.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "util/files.h"

namespace ktstr::guest {

namespace {

struct MountSpec {
  const char* type;
  const char* target;
  unsigned long flags;
  const char* data;
};

// Order matters: /sys before the mounts under it, /dev before /dev/pts.
constexpr MountSpec kMounts[] = {
    {"proc", "/proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    {"sysfs", "/sys", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    {"devtmpfs", "/dev", MS_NOSUID, "mode=0755"},
    {"devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC, "gid=5,mode=0620,ptmxmode=0666"},
    {"tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777"},
    {"tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777"},
    {"tmpfs", "/run", MS_NOSUID | MS_NODEV, "mode=0755"},
    {"cgroup2", "/sys/fs/cgroup", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    {"bpf", "/sys/fs/bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0700"},
    {"debugfs", "/sys/kernel/debug", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
    {"tracefs", "/sys/kernel/tracing", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr},
};

std::string errno_text(int e) { return std::strerror(e); }

SetupStep do_mount(const MountSpec& m) {
  SetupStep step{std::string("mount ") + m.type + " on " + m.target, ""};
  std::error_code ec;
  std::filesystem::create_directories(m.target, ec);  // fails harmlessly under sysfs
  if (::mount(m.type, m.target, m.type, m.flags, m.data) != 0 && errno != EBUSY)
    step.error = errno_text(errno);
  return step;
}

SetupStep write_setting(const std::string& what, const char* path, std::string_view value) {
  SetupStep step{what, ""};
  if (auto st = write_file(path, value); !st.ok()) step.error = st.error().message();
  return step;
}

}  // namespace

std::vector<SetupStep> prepare_system() {
  std::vector<SetupStep> steps;
  for (const auto& m : kMounts) steps.push_back(do_mount(m));

  // One controller per write: a write enabling both fails as a whole.
  for (const char* ctl : {"+cpu", "+cpuset"})
    steps.push_back(write_setting(std::string("enable ") + ctl + " in the root cgroup",
                                  "/sys/fs/cgroup/cgroup.subtree_control", ctl));
  steps.push_back(write_setting("kptr_restrict=0", "/proc/sys/kernel/kptr_restrict", "0"));

  SetupStep host{"hostname ktstr", ""};
  if (::sethostname("ktstr", 5) != 0) host.error = errno_text(errno);
  steps.push_back(host);

  std::error_code ec;
  std::filesystem::create_directories("/root", ec);
  ::setenv("PATH", "/bin:/sbin:/usr/bin:/usr/sbin", 1);
  ::setenv("HOME", "/root", 1);
  if (::getenv("TERM") == nullptr) ::setenv("TERM", "linux", 1);
  if (::chdir("/") != 0) steps.push_back({"chdir /", errno_text(errno)});
  return steps;
}

}  // namespace ktstr::guest
