#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>

#include "util/files.h"
#include "util/result.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace ktstr {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("value must be > 0");
  return v;
}

Result<int> doubled(int v) {
  KTSTR_ASSIGN(int x, parse_positive(v), "field 'count'");
  return x * 2;
}

TEST(Result, PropagatesWithContext) {
  auto ok = doubled(3);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 6);
  auto bad = doubled(0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "field 'count': value must be > 0");
  EXPECT_EQ(bad.error().code(), Errc::kInvalidArgument);
}

TEST(TempDir, RemovedOnDestruction) {
  std::filesystem::path p;
  {
    auto td = TempDir::create("ktstr-test-");
    ASSERT_TRUE(td.ok());
    p = td->path();
    ASSERT_TRUE(write_file(p / "f", "x").ok());
    EXPECT_TRUE(std::filesystem::exists(p / "f"));
  }
  EXPECT_FALSE(std::filesystem::exists(p));
}

TEST(Subprocess, CapturesOutputAndStatus) {
  auto r = run_command({"sh", "-c", "echo out; echo err >&2; exit 3"}, std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->status.code, 3);
}

TEST(Subprocess, MissingProgramIsAnError) {
  auto r = Child::spawn({"/nonexistent/ktstr-program"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("cannot run"), std::string::npos);
}

TEST(Subprocess, TimeoutKillsChild) {
  auto r = run_command({"sleep", "30"}, std::chrono::milliseconds(200));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kTimeout);
}

TEST(Subprocess, DestructorKillsRunningChild) {
  pid_t pid;
  {
    auto c = Child::spawn({"sleep", "30"});
    ASSERT_TRUE(c.ok());
    pid = c->pid();
  }
  EXPECT_NE(::kill(pid, 0), 0);  // reaped, gone
}

TEST(Strings, SplitAndTrim) {
  EXPECT_EQ(split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(trim("  x y \n"), "x y");
  EXPECT_EQ(trim(" \t"), "");
}

}  // namespace
}  // namespace ktstr
