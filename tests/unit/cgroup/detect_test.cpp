#include "cgroup/detect.h"

#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sys/statfs.h>

#include "cgroup/cgroup.h"
#include "cgroup/detail/control.h"
#include "cgroup2_env.h"
#include "util/files.h"

namespace ktstr::cgroup {
namespace {

using testing::Cgroup2Test;
using testing::TmpfsDir;

std::string v1_message(const std::string& mount) {
  return "ktstr run needs cgroup v2 at " + mount +
         " (this host has cgroup v1); boot with systemd.unified_cgroup_hierarchy=1 or use "
         "`ktstr test` to run in a VM";
}

TEST(Detect, TmpfsMountIsReportedAsCgroupV1InOneLine) {
  TmpfsDir dir;
  if (!dir.ok()) GTEST_SKIP() << "no tmpfs directory available";
  auto r = find_cgroup2_root(dir.path());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kUnavailable);
  EXPECT_EQ(r.error().message(), v1_message(dir.path().string()));
}

TEST(Detect, ThisHostsSysFsCgroup) {
  struct statfs st {};
  ASSERT_EQ(::statfs("/sys/fs/cgroup", &st), 0);
  auto r = find_cgroup2_root();
  if (st.f_type == CGROUP2_SUPER_MAGIC) {
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(*r, "/sys/fs/cgroup");
  } else if (st.f_type == TMPFS_MAGIC) {  // a cgroup v1 host, like the CI box
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message(), v1_message("/sys/fs/cgroup"));
  } else {
    GTEST_SKIP() << "/sys/fs/cgroup is neither cgroup2 nor a v1 tmpfs here";
  }
}

TEST(Detect, MissingMountPointIsNamed) {
  auto r = find_cgroup2_root("/nonexistent/ktstr-cgroup");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kUnavailable);
  EXPECT_NE(r.error().message().find("/nonexistent/ktstr-cgroup: No such file or directory"),
            std::string::npos)
      << r.error().message();
}

TEST(Detect, OtherFilesystemIsNotCgroup2) {
  auto r = find_cgroup2_root("/proc");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("(it is not a cgroup2 mount)"), std::string::npos)
      << r.error().message();
}

TEST(Detect, CheckControllersReadsCgroupControllers) {
  TmpfsDir dir;
  if (!dir.ok()) GTEST_SKIP() << "no tmpfs directory available";
  KTSTR_ASSERT_OK(write_file(dir.path() / "cgroup.controllers", "cpu io memory pids\n"));
  auto have = available_controllers(dir.path());
  ASSERT_TRUE(have.ok()) << have.error().message();
  EXPECT_EQ(*have, (std::vector<std::string>{"cpu", "io", "memory", "pids"}));
  EXPECT_TRUE(check_controllers(dir.path(), {"cpu", "memory"}).ok());

  auto s = check_controllers(dir.path());  // cpu, cpuset
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Errc::kUnavailable);
  const auto& m = s.error().message();
  EXPECT_NE(m.find("controller(s) cpuset missing from"), std::string::npos) << m;
  EXPECT_NE(m.find("(available: cpu, io, memory, pids)"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

TEST(Detect, CheckControllersWithoutTheFileFails) {
  TmpfsDir dir;
  if (!dir.ok()) GTEST_SKIP() << "no tmpfs directory available";
  auto s = check_controllers(dir.path());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message().find("cgroup.controllers"), std::string::npos);
}

TEST_F(Cgroup2Test, FindsARealCgroup2Mount) {
  auto r = find_cgroup2_root(mount());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, mount());
  EXPECT_TRUE(available_controllers(mount()).ok());
  EXPECT_TRUE(check_controllers(mount(), {}).ok());
}

TEST(Names, ValidNamesPass) {
  for (const char* good : {"cg_0", "a.b-c", "parent/child", "A/B/C9", "x"})
    EXPECT_TRUE(detail::validate_name(good).ok()) << good;
}

TEST(Names, BadNamesAreRejectedBeforeTouchingTheFilesystem) {
  const std::vector<std::string> bads = {
      "", ".", "..", "a//b", "/a", "a/", "a b", "x$y", "../etc", "a/../b", std::string(256, 'a')};
  for (const auto& bad : bads) {
    auto r = Cgroup::create("/nonexistent/ktstr", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Errc::kInvalidArgument) << bad;
    EXPECT_NE(r.error().message().find("cgroup name '" + bad + "'"), std::string::npos)
        << r.error().message();
  }
}

TEST(Names, CreateOutsideCgroup2IsUnavailable) {
  TmpfsDir dir;
  if (!dir.ok()) GTEST_SKIP() << "no tmpfs directory available";
  auto r = Cgroup::create(dir.path(), "cg_0");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kUnavailable);
  EXPECT_NE(r.error().message().find("is not in a cgroup v2 hierarchy"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "cg_0"));
}

}  // namespace
}  // namespace ktstr::cgroup
