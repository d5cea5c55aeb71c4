#include "initramfs/builder.h"

#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <iostream>

#include "test_support.h"
#include "util/files.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace ktstr::initramfs {
namespace {

namespace fs = std::filesystem;
using test::find;

class InitramfsBuilder : public ::testing::Test {
 protected:
  void SetUp() override {
    auto td = TempDir::create("ktstr-initramfs-");
    ASSERT_TRUE(td.ok());
    dir_ = std::move(td).value();
    agent_ = dir_.path() / "agent";
    // A stand-in agent: the real one is a static ELF, but any file works here.
    ASSERT_TRUE(write_file(agent_, "#!/bin/sh\necho agent\n").ok());
    fs::permissions(agent_, fs::perms(0755));
  }
  BaseSpec spec() const {
    BaseSpec s;
    s.agent = agent_;
    return s;
  }
  TempDir dir_;
  fs::path agent_;
};

std::vector<std::string> applets() {
  auto r = run_command({"/bin/busybox", "--list"}, std::chrono::seconds(10));
  std::vector<std::string> out;
  if (!r.ok()) {
    return out;
  }
  for (auto& l : split(r->out, '\n')) {
    if (!trim(l).empty()) {
      out.emplace_back(trim(l));
    }
  }
  return out;
}

TEST_F(InitramfsBuilder, BaseHasAgentBusyboxAppletsDevicesAndDirs) {
  auto base = build_base(spec(), dir_.path() / "cache");
  ASSERT_TRUE(base.ok()) << base.error().message();
  EXPECT_EQ(base->parent_path(), dir_.path() / "cache");
  EXPECT_EQ(base->filename().string().rfind("base-", 0), 0u);
  auto entries = test::read_archive_file(*base);
  ASSERT_TRUE(entries.ok()) << entries.error().message();

  auto* init = find(*entries, "init");
  ASSERT_NE(init, nullptr);
  EXPECT_EQ(init->type, AE_IFREG);
  EXPECT_EQ(init->perm, 0755u);
  EXPECT_EQ(init->data, "#!/bin/sh\necho agent\n");

  auto* bb = find(*entries, "bin/busybox");
  ASSERT_NE(bb, nullptr);
  EXPECT_EQ(bb->size, static_cast<int64_t>(fs::file_size("/bin/busybox")));
  auto list = applets();
  ASSERT_FALSE(list.empty());
  for (auto& a : list) {
    if (a == "init" || a == "busybox") {
      continue;
    }
    auto* e = find(*entries, "bin/" + a);
    ASSERT_NE(e, nullptr) << a;
    EXPECT_EQ(e->type, AE_IFLNK) << a;
    EXPECT_EQ(e->symlink, "busybox") << a;
  }
  ASSERT_NE(find(*entries, "bin/sh"), nullptr);
  EXPECT_EQ(find(*entries, "bin/init"), nullptr);  // kernel fallback must not be busybox init

  auto* console = find(*entries, "dev/console");
  ASSERT_NE(console, nullptr);
  EXPECT_EQ(console->type, AE_IFCHR);
  EXPECT_EQ(console->rdevmajor, 5u);
  EXPECT_EQ(console->rdevminor, 1u);
  auto* null = find(*entries, "dev/null");
  ASSERT_NE(null, nullptr);
  EXPECT_EQ(null->rdevmajor, 1u);
  EXPECT_EQ(null->rdevminor, 3u);
  EXPECT_EQ(null->perm, 0666u);

  for (const char* d :
       {"proc", "sys", "sys/fs/cgroup", "dev", "tmp", "run", "mnt", "etc", "root"}) {
    auto* e = find(*entries, d);
    ASSERT_NE(e, nullptr) << d;
    EXPECT_EQ(e->type, AE_IFDIR) << d;
  }
  EXPECT_EQ(find(*entries, "tmp")->perm, 01777u);
  ASSERT_NE(find(*entries, "etc/passwd"), nullptr);
  EXPECT_EQ(find(*entries, "etc/passwd")->data.rfind("root:x:0:0:", 0), 0u);
  ASSERT_NE(find(*entries, "etc/group"), nullptr);
  // Static busybox + script agent: no libraries at all.
  EXPECT_EQ(find(*entries, "lib64/ld-linux-x86-64.so.2"), nullptr);
}

// Bases unused for a day go; the one in use, fresh ones and other files stay.
TEST_F(InitramfsBuilder, StaleBasesArePruned) {
  auto cache = dir_.path() / "prune";
  fs::create_directories(cache);
  auto make = [&](const char* name, std::chrono::hours age) {
    ASSERT_TRUE(write_file(cache / name, "x").ok());
    fs::last_write_time(cache / name, fs::file_time_type::clock::now() - age);
  };
  make("base-0000000000000001.cpio", std::chrono::hours(48));  // stale
  make("base-0000000000000002.cpio", std::chrono::hours(1));   // recently used
  make("base-0000000000000003.cpio", std::chrono::hours(48));  // stale but in use
  make("base-0000000000000004.cpio.tmp-abc123", std::chrono::hours(48));  // a dead build
  make("other.cpio", std::chrono::hours(48));                  // not ours
  EXPECT_EQ(prune_stale_bases(cache, cache / "base-0000000000000003.cpio"), 2u);
  EXPECT_FALSE(fs::exists(cache / "base-0000000000000001.cpio"));
  EXPECT_TRUE(fs::exists(cache / "base-0000000000000002.cpio"));
  EXPECT_TRUE(fs::exists(cache / "base-0000000000000003.cpio"));
  EXPECT_FALSE(fs::exists(cache / "base-0000000000000004.cpio.tmp-abc123"));
  EXPECT_TRUE(fs::exists(cache / "other.cpio"));
  EXPECT_EQ(prune_stale_bases(dir_.path() / "missing", {}), 0u);
}

TEST_F(InitramfsBuilder, BaseIsDeterministic) {
  auto a = build_base(spec(), dir_.path() / "c1");
  auto b = build_base(spec(), dir_.path() / "c2");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->filename(), b->filename());
  auto ba = read_file(*a), bb = read_file(*b);
  ASSERT_TRUE(ba.ok() && bb.ok());
  EXPECT_TRUE(*ba == *bb);
}

TEST_F(InitramfsBuilder, BaseCacheIsReusedAndKeyedByContent) {
  auto cache = dir_.path() / "cache";
  // Agent-sized input (the real agent is a ~2 MB static binary).
  auto bb = read_file("/bin/busybox");
  ASSERT_TRUE(bb.ok());
  ASSERT_TRUE(write_file(agent_, *bb + "agent v1").ok());
  auto t0 = std::chrono::steady_clock::now();
  auto first = build_base(spec(), cache);
  auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(first.ok()) << first.error().message();
  struct stat st1;
  ASSERT_EQ(::stat(first->c_str(), &st1), 0);

  auto second = build_base(spec(), cache);
  auto t2 = std::chrono::steady_clock::now();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);
  struct stat st2;
  ASSERT_EQ(::stat(second->c_str(), &st2), 0);
  // The same file, not rebuilt (a rebuild renames a new inode into place);
  // only touched, so pruning sees it in use.
  EXPECT_EQ(st1.st_ino, st2.st_ino);
  EXPECT_EQ(st1.st_size, st2.st_size);
  using ms = std::chrono::duration<double, std::milli>;
  std::cout << "[ timing ] base build " << ms(t1 - t0).count() << " ms, cached "
            << ms(t2 - t1).count() << " ms\n";

  size_t files = 0;
  for (auto& e : fs::directory_iterator(cache)) {
    ++files;
    EXPECT_EQ(e.path().extension(), ".cpio") << "leftover " << e.path();
  }
  EXPECT_EQ(files, 1u);

  // New agent bytes: a new key.
  ASSERT_TRUE(write_file(agent_, "#!/bin/sh\necho agent v2\n").ok());
  auto third = build_base(spec(), cache);
  ASSERT_TRUE(third.ok());
  EXPECT_NE(*third, *first);

  // A damaged cache file is rebuilt (the cut lands inside busybox, whose
  // bytes contain "TRAILER!!!" too).
  auto full = fs::file_size(*third);
  fs::resize_file(*third, full / 2);
  auto fourth = build_base(spec(), cache);
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(*fourth, *third);
  EXPECT_EQ(fs::file_size(*fourth), full);
}

TEST_F(InitramfsBuilder, BaseExtraDynamicBinaryBringsLibraries) {
  auto s = spec();
  s.extra_binaries = {"/bin/ls"};
  auto base = build_base(s, dir_.path() / "cache");
  ASSERT_TRUE(base.ok()) << base.error().message();
  auto entries = test::read_archive_file(*base);
  ASSERT_TRUE(entries.ok());
  auto* ls = find(*entries, "bin/ls");
  ASSERT_NE(ls, nullptr);
  EXPECT_EQ(ls->type, AE_IFREG);  // the real ls wins over the applet symlink
  auto* interp = find(*entries, "lib64/ld-linux-x86-64.so.2");
  ASSERT_NE(interp, nullptr);
  EXPECT_EQ(interp->type, AE_IFREG);  // real bytes, not the host's symlink
  EXPECT_GT(interp->size, 100000);
  auto* libc = find(*entries, "lib/x86_64-linux-gnu/libc.so.6");
  ASSERT_NE(libc, nullptr);
  EXPECT_EQ(libc->type, AE_IFREG);
  EXPECT_NE(find(*entries, "lib/x86_64-linux-gnu/libpcre2-8.so.0"), nullptr);
}

TEST_F(InitramfsBuilder, BaseRejectsMissingInputsByName) {
  auto s = spec();
  s.agent = dir_.path() / "no-agent";
  auto r = build_base(s, dir_.path() / "cache");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("no-agent"), std::string::npos);
  s = spec();
  s.agent.clear();
  EXPECT_FALSE(build_base(s, dir_.path() / "cache").ok());
}

TEST_F(InitramfsBuilder, OverlayHoldsFilesIncludesAndTheirLibraries) {
  auto fix = dir_.path() / "fix";
  ASSERT_TRUE(test::install_fixture(fix).ok());
  auto tree = dir_.path() / "tree";
  fs::create_directories(tree / "sub");
  ASSERT_TRUE(write_file(tree / "sub" / "data.txt", "data").ok());
  ASSERT_TRUE(write_file(tree / "run.sh", "#!/bin/sh\n").ok());
  fs::permissions(tree / "run.sh", fs::perms(0755));
  fs::create_symlink("sub/data.txt", tree / "link");

  OverlaySpec o;
  o.files = {{"/etc/ktstr/args", "--foo\n"}};
  o.includes = {
      {fix / "bin" / "fixture", "", true}, {tree, "", true}, {"/bin/ls", "/opt/ls", true}};
  auto out = dir_.path() / "overlay.cpio";
  auto st = write_overlay(o, out);
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto entries = test::read_archive_file(out);
  ASSERT_TRUE(entries.ok()) << entries.error().message();

  EXPECT_EQ(find(*entries, "etc/ktstr/args")->data, "--foo\n");
  auto* fixture = find(*entries, "include/fixture");
  ASSERT_NE(fixture, nullptr);
  EXPECT_EQ(fixture->type, AE_IFREG);
  EXPECT_TRUE(fixture->perm & 0100);
  auto* link = find(*entries, "bin/fixture");
  ASSERT_NE(link, nullptr);
  EXPECT_EQ(link->symlink, "/include/fixture");
  // The fixture's library, at its host path plus a loader-visible alias.
  auto lib_guest = (fix / "lib" / "libktstrfixture.so.1").relative_path().string();
  ASSERT_NE(find(*entries, lib_guest), nullptr) << lib_guest;
  auto* alias = find(*entries, "lib/x86_64-linux-gnu/libktstrfixture.so.1");
  ASSERT_NE(alias, nullptr);
  EXPECT_EQ(alias->symlink, "/" + lib_guest);
  EXPECT_NE(find(*entries, "lib/x86_64-linux-gnu/libc.so.6"), nullptr);
  EXPECT_NE(find(*entries, "lib64/ld-linux-x86-64.so.2"), nullptr);

  // Directory include: tree kept, symlink kept, no /bin links.
  EXPECT_EQ(find(*entries, "include/tree")->type, AE_IFDIR);
  EXPECT_EQ(find(*entries, "include/tree/sub/data.txt")->data, "data");
  EXPECT_EQ(find(*entries, "include/tree/link")->symlink, "sub/data.txt");
  EXPECT_EQ(find(*entries, "include/tree/run.sh")->perm, 0755u);
  EXPECT_EQ(find(*entries, "bin/run.sh"), nullptr);

  // Explicit guest path.
  EXPECT_NE(find(*entries, "opt/ls"), nullptr);
  EXPECT_EQ(find(*entries, "bin/ls")->symlink, "/opt/ls");
  EXPECT_NE(find(*entries, "lib/x86_64-linux-gnu/libselinux.so.1"), nullptr);
}

TEST_F(InitramfsBuilder, OverlayErrorsNameTheInclude) {
  OverlaySpec missing;
  missing.includes = {{dir_.path() / "nope", "", true}};
  auto out = dir_.path() / "o.cpio";
  auto st = write_overlay(missing, out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find((dir_.path() / "nope").string()), std::string::npos);
  EXPECT_FALSE(fs::exists(out));

  fs::create_directories(dir_.path() / "x");
  ASSERT_TRUE(write_file(dir_.path() / "x" / "ls", "not ls").ok());
  OverlaySpec clash;
  clash.includes = {{"/bin/ls", "", true}, {dir_.path() / "x" / "ls", "", true}};
  st = write_overlay(clash, out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("/include/ls"), std::string::npos) << st.error().message();

  OverlaySpec broken;
  ASSERT_TRUE(test::install_fixture(dir_.path() / "fix", /*without_lib=*/true).ok());
  broken.includes = {{dir_.path() / "fix" / "bin" / "fixture", "", true}};
  st = write_overlay(broken, out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("libktstrfixture.so.1 needed by"), std::string::npos)
      << st.error().message();
}

TEST_F(InitramfsBuilder, ConcatenationIsWhatTheKernelWalks) {
  auto base = build_base(spec(), dir_.path() / "cache");
  ASSERT_TRUE(base.ok());
  OverlaySpec o;
  o.files = {{"/etc/ktstr/args", "abc"}};  // odd sizes exercise padding
  auto overlay = dir_.path() / "overlay.cpio";
  ASSERT_TRUE(write_overlay(o, overlay).ok());
  auto out = dir_.path() / "initrd";
  auto st = concatenate({*base, overlay}, out);
  ASSERT_TRUE(st.ok()) << st.error().message();
  auto bytes = read_file(out);
  ASSERT_TRUE(bytes.ok());
  int trailers = 0;
  auto names = test::walk_newc(*bytes, &trailers);
  ASSERT_TRUE(names.ok()) << names.error().message();
  EXPECT_EQ(trailers, 2);
  EXPECT_EQ(names->front(), "bin");
  EXPECT_EQ(names->back(), "etc/ktstr/args");
  EXPECT_NE(std::find(names->begin(), names->end(), "init"), names->end());
}

TEST_F(InitramfsBuilder, ConcatenatePadsEachPartToFourBytes) {
  auto a = dir_.path() / "a", b = dir_.path() / "b", out = dir_.path() / "out";
  ASSERT_TRUE(write_file(a, "abc").ok());
  ASSERT_TRUE(write_file(b, "defgh").ok());
  ASSERT_TRUE(concatenate({a, b}, out).ok());
  auto bytes = read_file(out);
  ASSERT_TRUE(bytes.ok());
  EXPECT_EQ(*bytes, std::string("abc\0defgh\0\0\0", 12));
  auto self = concatenate({a, out}, out);
  ASSERT_FALSE(self.ok());
  EXPECT_NE(self.error().message().find("also an input"), std::string::npos);
  auto st = concatenate({a, dir_.path() / "missing"}, out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("missing"), std::string::npos);
  EXPECT_FALSE(fs::exists(out));
}

// End to end: unpack base + overlay like the kernel would and run the guest
// userland in a chroot: busybox sh, a dynamic host binary, and the fixture
// whose library is only reachable through the loader-dir alias.
TEST_F(InitramfsBuilder, UnpackedInitramfsRunsInChroot) {
  if (::geteuid() != 0) {
    GTEST_SKIP() << "chroot needs root";
  }
  auto fix = dir_.path() / "fix";
  ASSERT_TRUE(test::install_fixture(fix).ok());
  auto base = build_base(spec(), dir_.path() / "cache");
  ASSERT_TRUE(base.ok()) << base.error().message();
  OverlaySpec o;
  o.includes = {{"/bin/ls", "", true}, {fix / "bin" / "fixture", "", true}};
  auto overlay = dir_.path() / "overlay.cpio";
  ASSERT_TRUE(write_overlay(o, overlay).ok());
  auto root = dir_.path() / "root";
  fs::create_directories(root);
  ASSERT_TRUE(test::extract(*base, root).ok());
  ASSERT_TRUE(test::extract(overlay, root).ok());
  // The fixture's host-path copy must not be what makes it work.
  fs::remove(root / (fix / "bin" / "fixture").relative_path());

  auto chroot = find_program("chroot");
  if (!chroot.ok()) {
    GTEST_SKIP() << "no chroot program";
  }
  auto r = run_command({*chroot, root.string(), "/bin/sh", "-c",
                        "echo sh-ok; ls / | grep -q include && echo ls-ok; fixture"},
                       std::chrono::seconds(30), SpawnOptions{.extra_env = {"PATH=/bin"}});
  ASSERT_TRUE(r.ok()) << r.error().message();
  if (!r->status.success() && r->err.find("Operation not permitted") != std::string::npos) {
    GTEST_SKIP() << "chroot not permitted here";
  }
  EXPECT_TRUE(r->status.success()) << r->status.describe() << ": " << r->err;
  EXPECT_NE(r->out.find("sh-ok"), std::string::npos) << r->out << r->err;
  EXPECT_NE(r->out.find("ls-ok"), std::string::npos) << r->out << r->err;
  EXPECT_NE(r->out.find("fixture 42"), std::string::npos) << r->out << r->err;
}

}  // namespace
}  // namespace ktstr::initramfs
