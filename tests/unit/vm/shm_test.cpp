#include "vm/shm.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

#include "util/files.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace ktstr::vm {
namespace {

TEST(Shm, PrefixCarriesThePid) {
  auto a = make_shm_prefix();
  auto b = make_shm_prefix();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("ktstr-" + std::to_string(::getpid()) + "-", 0), 0u) << a;
  EXPECT_EQ(shm_owner_pid(a + "-node0"), ::getpid());
}

TEST(Shm, OwnerPidParsing) {
  EXPECT_EQ(shm_owner_pid("ktstr-123-abc-node0"), 123);
  EXPECT_EQ(shm_owner_pid("ktstr-123"), -1);
  EXPECT_EQ(shm_owner_pid("ktstr--abc"), -1);
  EXPECT_EQ(shm_owner_pid("ktstrx-123-abc"), -1);
  EXPECT_EQ(shm_owner_pid("other-123-abc"), -1);
  EXPECT_EQ(shm_owner_pid("ktstr-0-abc"), -1);
  EXPECT_EQ(shm_owner_pid("ktstr-99999999999-abc"), -1);
  EXPECT_EQ(shm_owner_pid("mine-7-x", "mine"), 7);
}

// A pid that existed and is gone now (reaped).
pid_t dead_pid() {
  auto child = Child::spawn({"true"});
  EXPECT_TRUE(child.ok());
  pid_t pid = child->pid();
  child->wait();
  return pid;
}

TEST(Shm, RemovesOnlyFilesOfDeadOwners) {
  auto dir = TempDir::create("ktstr-shm-test-");
  ASSERT_TRUE(dir.ok());
  const auto& d = dir->path();
  pid_t dead = dead_pid();
  const std::string stale1 = "ktstr-" + std::to_string(dead) + "-aa-node0";
  const std::string stale2 = "ktstr-" + std::to_string(dead) + "-aa-node1";
  const std::string mine = make_shm_prefix() + "-node0";
  const std::string init = "ktstr-1-bb-node0";  // pid 1 is alive
  const std::string other = "someone-else";
  for (auto& f : {stale1, stale2, mine, init, other}) ASSERT_TRUE(write_file(d / f, "x").ok());

  auto removed = remove_stale_shm(d);
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  EXPECT_EQ(*removed, 2u);
  EXPECT_FALSE(std::filesystem::exists(d / stale1));
  EXPECT_FALSE(std::filesystem::exists(d / stale2));
  EXPECT_TRUE(std::filesystem::exists(d / mine));
  EXPECT_TRUE(std::filesystem::exists(d / init));
  EXPECT_TRUE(std::filesystem::exists(d / other));
}

TEST(Shm, MissingDirectoryRemovesNothing) {
  auto r = remove_stale_shm("/nonexistent/ktstr-shm");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 0u);
}

TEST(Shm, RegistryTracksAndEmergencyCleanupUnlinks) {
  auto dir = TempDir::create("ktstr-shm-test-");
  ASSERT_TRUE(dir.ok());
  auto f = dir->path() / "ktstr-x-node0";
  ASSERT_TRUE(write_file(f, "x").ok());
  register_shm_file(f);
  auto live = live_shm_files();
  EXPECT_NE(std::find(live.begin(), live.end(), f), live.end());

  auto child = Child::spawn({"sleep", "600"});
  ASSERT_TRUE(child.ok());
  register_qemu_pid(child->pid());
  emergency_cleanup();
  auto st = child->wait();
  EXPECT_TRUE(st.signaled);
  EXPECT_EQ(st.signal, SIGKILL);
  EXPECT_FALSE(std::filesystem::exists(f));
  EXPECT_TRUE(live_shm_files().empty());
  EXPECT_TRUE(live_qemu_pids().empty());
}

}  // namespace
}  // namespace ktstr::vm
