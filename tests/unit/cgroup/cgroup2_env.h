// Test fixtures for the cgroup module: Cgroup2Test gives each test a private
// cgroup2 mount (the one cgroup2 hierarchy, also on cgroup v1 hosts where
// cgroup2 can still be mounted) and a scratch cgroup base() below it,
// skipping with the reason when that is impossible. Plus helpers: a tmpfs
// directory, sleeper processes, a process's cgroup.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cgroup/cgroup.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"

// ASSERT that a Result/Status is ok, printing its error message otherwise.
#define KTSTR_ASSERT_OK(expr)                                                    \
  do {                                                                           \
    auto ktstr_ok_ = (expr);                                                     \
    ASSERT_TRUE(ktstr_ok_.ok()) << #expr << ": " << ktstr_ok_.error().message(); \
  } while (0)

namespace ktstr::cgroup::testing {

namespace fs = std::filesystem;

// A directory on tmpfs (mounting one if $TMPDIR is not tmpfs); unmounts on destruction.
class TmpfsDir {
 public:
  // Empty path() when no tmpfs could be had.
  TmpfsDir();
  ~TmpfsDir();
  TmpfsDir(const TmpfsDir&) = delete;
  TmpfsDir& operator=(const TmpfsDir&) = delete;
  const fs::path& path() const { return dir_.path(); }
  bool ok() const { return ok_; }

 private:
  TempDir dir_;
  bool mounted_ = false;
  bool ok_ = false;
};

class Cgroup2Test : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  const fs::path& mount() const { return mount_; }
  const fs::path& base() const { return base_.path(); }
  // {"cpu", "cpuset"} as far as base()'s children can have them.
  const std::vector<std::string>& usable() const { return usable_; }
  bool usable(const std::string& controller) const;
  // Options for cgroups under base(): the usable controllers.
  CreateOptions options(Leftover leftover = Leftover::kMoveToRoot) const;

 private:
  TempDir dir_;
  bool mounted_ = false;
  fs::path mount_;
  Cgroup base_;
  std::vector<std::string> usable_;
};

// `sleep 1000` (killed and reaped when the Child is destroyed).
Child sleeper();
// The cgroup v2 path of `pid` ("/a/b"), from /proc/<pid>/cgroup.
std::optional<std::string> cgroup_of(pid_t pid);
// `dir` as /proc/<pid>/cgroup shows it, relative to the hierarchy root `mount`.
std::string as_proc_path(const fs::path& dir, const fs::path& mount);
// A pid that has exited and been reaped.
pid_t dead_pid();

}  // namespace ktstr::cgroup::testing
