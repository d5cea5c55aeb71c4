#include "cgroup2_env.h"

#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>

#include "cgroup/detect.h"
#include "util/files.h"

namespace ktstr::cgroup::testing {

namespace {

bool is_fs(const fs::path& p, long magic) {
  struct statfs st {};
  return ::statfs(p.c_str(), &st) == 0 && static_cast<long>(st.f_type) == magic;
}

void unmount(const fs::path& p) {
  if (::umount2(p.c_str(), 0) != 0) ::umount2(p.c_str(), MNT_DETACH);
}

}  // namespace

TmpfsDir::TmpfsDir() {
  auto td = TempDir::create("ktstr-tmpfs-");
  if (!td.ok()) return;
  dir_ = std::move(*td);
  if (!is_fs(dir_.path(), TMPFS_MAGIC)) {
    if (::mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, "size=1m") != 0) return;
    mounted_ = true;
  }
  ok_ = true;
}

TmpfsDir::~TmpfsDir() {
  if (mounted_) unmount(dir_.path());
}

void Cgroup2Test::SetUp() {
  auto td = TempDir::create("ktstr-cg2-");
  ASSERT_TRUE(td.ok()) << td.error().message();
  dir_ = std::move(*td);
  if (::mount("none", dir_.path().c_str(), "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) ==
      0) {
    mounted_ = true;
    mount_ = dir_.path();
  } else {
    int e = errno;
    auto sys = find_cgroup2_root("/sys/fs/cgroup");
    if (!sys.ok())
      GTEST_SKIP() << "needs a cgroup2 hierarchy: mounting one failed (" << std::strerror(e)
                   << ") and " << sys.error().message();
    mount_ = *sys;
  }
  // "utest" keeps it out of cleanup_stale's ktstr-<pid>-* pattern.
  std::string name = "ktstr-utest-" + std::to_string(::getpid()) + "-" +
                     std::to_string(std::random_device{}() & 0xffffff);
  auto b =
      Cgroup::create(mount_, name, CreateOptions{.controllers = {}, .leftover = Leftover::kKill});
  if (!b.ok()) GTEST_SKIP() << "cannot create a scratch cgroup: " << b.error().message();
  base_ = std::move(*b);
  auto have = available_controllers(base_.path());
  ASSERT_TRUE(have.ok()) << have.error().message();
  for (const char* c : {"cpu", "cpuset"})
    if (std::find(have->begin(), have->end(), c) != have->end()) usable_.push_back(c);
}

void Cgroup2Test::TearDown() {
  if (base_.valid()) {
    auto p = base_.path();
    auto s = base_.destroy();
    EXPECT_TRUE(s.ok()) << s.error().message();
    EXPECT_FALSE(fs::exists(p));
  }
  if (mounted_) {
    unmount(dir_.path());
    mounted_ = false;
  }
}

bool Cgroup2Test::usable(const std::string& controller) const {
  return std::find(usable_.begin(), usable_.end(), controller) != usable_.end();
}

CreateOptions Cgroup2Test::options(Leftover leftover) const {
  return CreateOptions{.controllers = usable_, .leftover = leftover};
}

Child sleeper() {
  auto c = Child::spawn({"sleep", "1000"}, SpawnOptions{.devnull_stdin = true});
  EXPECT_TRUE(c.ok()) << c.error().message();
  return c.ok() ? std::move(*c) : Child();
}

std::optional<std::string> cgroup_of(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/cgroup");
  if (!text.ok()) return std::nullopt;
  for (const auto& line : split(*text, '\n'))
    if (line.starts_with("0::")) return line.substr(3);
  return std::nullopt;
}

std::string as_proc_path(const fs::path& dir, const fs::path& mount) {
  auto rel = dir.lexically_relative(mount).string();
  return rel == "." ? "/" : "/" + rel;
}

pid_t dead_pid() {
  auto c = Child::spawn({"true"});
  if (!c.ok()) return -1;
  pid_t pid = c->pid();
  c->wait();
  return pid;
}

}  // namespace ktstr::cgroup::testing
