// Finding scheduler binaries: the search order, paths used as given, and
// an error that says where it looked and how to build them.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "scheduler/lookup.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::scheduler {
namespace {

namespace fs = std::filesystem;

class Lookup : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("ktstr-sched-lookup-");
    ASSERT_TRUE(d.ok());
    dir_ = std::move(*d);
    for (auto sub : {"env1", "env2", "exe", "exe/schedulers", "build", "build/schedulers"})
      fs::create_directories(root() / sub);
  }
  fs::path root() const { return dir_.path(); }
  void make_exe(const fs::path& p, mode_t mode = 0755) {
    ASSERT_TRUE(write_file(p, "#!/bin/sh\n").ok());
    ASSERT_EQ(::chmod(p.c_str(), mode), 0);
  }
  SearchPath search(bool with_env = true) {
    std::string env = (root() / "env1").string() + "::" + (root() / "env2").string();
    return make_search_path(with_env ? env.c_str() : nullptr, root() / "exe", root() / "build");
  }
  static SchedulerDef named(std::string binary) {
    SchedulerDef d;
    d.name = "scx_t";
    d.binary = std::move(binary);
    d.description = "t";
    return d;
  }
  TempDir dir_;
};

TEST_F(Lookup, SearchOrder) {
  auto s = search();
  std::vector<fs::path> want{root() / "env1", root() / "env2", root() / "exe/schedulers",
                             root() / "exe", root() / "build/schedulers"};
  EXPECT_EQ(s.dirs, want);
  EXPECT_TRUE(s.env_set);
  EXPECT_FALSE(search(false).env_set);
  // The build dir is not listed twice when the executable lives in it.
  auto same = make_search_path(nullptr, root() / "build", root() / "build");
  EXPECT_EQ(same.dirs, (std::vector<fs::path>{root() / "build/schedulers", root() / "build"}));
}

TEST_F(Lookup, FirstMatchWins) {
  make_exe(root() / "build/schedulers/scx_t");
  auto r = find_scheduler_binary(named("scx_t"), search());
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(*r, root() / "build/schedulers/scx_t");

  make_exe(root() / "exe/scx_t");
  EXPECT_EQ(*find_scheduler_binary(named("scx_t"), search()), root() / "exe/scx_t");
  make_exe(root() / "exe/schedulers/scx_t");
  EXPECT_EQ(*find_scheduler_binary(named("scx_t"), search()), root() / "exe/schedulers/scx_t");
  make_exe(root() / "env2/scx_t");
  EXPECT_EQ(*find_scheduler_binary(named("scx_t"), search()), root() / "env2/scx_t");
}

TEST_F(Lookup, SkipsNonExecutablesAndDirectories) {
  make_exe(root() / "env1/scx_t", 0644);
  fs::create_directories(root() / "env2/scx_t");
  make_exe(root() / "exe/scx_t");
  EXPECT_EQ(*find_scheduler_binary(named("scx_t"), search()), root() / "exe/scx_t");
}

TEST_F(Lookup, NotFoundSaysWhereAndHow) {
  auto r = find_scheduler_binary(named("scx_none"), search(false));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kNotFound);
  const std::string m = r.error().message();
  EXPECT_NE(m.find("scheduler binary 'scx_none' (for scx_t) not found; looked in: "
                   "$KTSTR_SCHEDULER_PATH (unset), " +
                   (root() / "exe/schedulers").string()),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("`make`"), std::string::npos) << m;
  EXPECT_NE(m.find("KTSTR_SCHEDULER_PATH to the directory"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos);
}

TEST_F(Lookup, PathsAreUsedAsGiven) {
  make_exe(root() / "mine");
  auto ok = find_scheduler_binary(named((root() / "mine").string()), search());
  ASSERT_TRUE(ok.ok()) << ok.error().message();
  EXPECT_EQ(*ok, root() / "mine");

  auto missing = find_scheduler_binary(named((root() / "nope").string()), search());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("does not exist"), std::string::npos);

  make_exe(root() / "plain", 0644);
  auto plain = find_scheduler_binary(named((root() / "plain").string()), search());
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.error().message().find("is not an executable file"), std::string::npos);
}

TEST_F(Lookup, EevdfHasNoBinary) {
  SchedulerDef d;
  d.name = "eevdf";
  d.builtin_eevdf = true;
  auto r = find_scheduler_binary(d, search());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("kernel's own"), std::string::npos);
}

TEST(LookupDefault, IncludesTheBuildTree) {
  auto s = default_search_path();
  bool has_build = false;
  for (const auto& d : s.dirs) has_build |= d.filename() == "schedulers";
  EXPECT_TRUE(has_build);
}

}  // namespace
}  // namespace ktstr::scheduler
