#include "initramfs/elf_deps.h"

#include <gtest/gtest.h>

#include <set>

#include "test_support.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::initramfs {
namespace {

namespace fs = std::filesystem;

bool has_lib(const ElfDeps& d, const std::string& name) {
  for (auto& l : d.libraries) {
    if (l.name == name) {
      return true;
    }
  }
  return false;
}

void expect_unique(const ElfDeps& d) {
  std::set<std::string> names, paths;
  for (auto& l : d.libraries) {
    EXPECT_TRUE(names.insert(l.name).second) << "duplicate " << l.name;
    EXPECT_TRUE(paths.insert(l.path.string()).second) << "duplicate " << l.path;
    EXPECT_TRUE(fs::is_regular_file(l.real_path)) << l.real_path;
    EXPECT_FALSE(fs::is_symlink(l.real_path)) << l.real_path;
  }
}

TEST(ElfDeps, DynamicBinaryClosureIncludesLibcAndTransitiveLibs) {
  auto d = elf_dependencies("/bin/ls", default_search_paths());
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_TRUE(d->is_elf);
  EXPECT_TRUE(d->is_dynamic);
  EXPECT_EQ(d->interpreter, "/lib64/ld-linux-x86-64.so.2");
  EXPECT_TRUE(fs::is_regular_file(d->interpreter_real));
  EXPECT_FALSE(fs::is_symlink(d->interpreter_real));
  EXPECT_TRUE(has_lib(*d, "libc.so.6"));
  EXPECT_TRUE(has_lib(*d, "libselinux.so.1"));
  EXPECT_TRUE(has_lib(*d, "libpcre2-8.so.0"));  // needed by libselinux, not by ls
  // libselinux names ld-linux-x86-64.so.2; it is the interpreter, not repeated.
  EXPECT_FALSE(has_lib(*d, "ld-linux-x86-64.so.2"));
  for (auto& l : d->libraries) {
    EXPECT_EQ(l.path.filename(), l.name);
  }
  expect_unique(*d);
}

TEST(ElfDeps, LargerClosureIsDeduplicated) {
  if (!fs::exists("/usr/bin/qemu-img")) {
    GTEST_SKIP() << "qemu-img not installed";
  }
  auto d = elf_dependencies("/usr/bin/qemu-img", default_search_paths());
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_GT(d->libraries.size(), 10u);
  EXPECT_TRUE(has_lib(*d, "libc.so.6"));
  expect_unique(*d);
}

TEST(ElfDeps, StaticBinaryHasEmptyClosure) {
  auto d = elf_dependencies("/bin/busybox", default_search_paths());
  ASSERT_TRUE(d.ok()) << d.error().message();
  EXPECT_TRUE(d->is_elf);
  EXPECT_FALSE(d->is_dynamic);
  EXPECT_TRUE(d->interpreter.empty());
  EXPECT_TRUE(d->libraries.empty());
}

TEST(ElfDeps, ScriptsAndTinyFilesAreNotElf) {
  auto td = TempDir::create("ktstr-elf-");
  ASSERT_TRUE(td.ok());
  ASSERT_TRUE(write_file(td->path() / "s.sh", "#!/bin/sh\necho hi\n").ok());
  ASSERT_TRUE(write_file(td->path() / "tiny",
                         "\x7f"
                         "E")
                  .ok());
  for (const char* f : {"s.sh", "tiny"}) {
    auto d = elf_dependencies(td->path() / f, default_search_paths());
    ASSERT_TRUE(d.ok()) << d.error().message();
    EXPECT_FALSE(d->is_elf) << f;
    EXPECT_FALSE(d->is_dynamic) << f;
  }
  auto missing = elf_dependencies(td->path() / "nope", default_search_paths());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("nope"), std::string::npos);
}

TEST(ElfDeps, TruncatedElfIsAnErrorNotACrash) {
  auto td = TempDir::create("ktstr-elf-");
  ASSERT_TRUE(td.ok());
  auto ls = read_file("/bin/ls");
  ASSERT_TRUE(ls.ok());
  auto f = td->path() / "cut";
  int errors = 0;
  for (size_t len = 4; len < ls->size(); len += 997) {
    ASSERT_TRUE(write_file(f, std::string_view(*ls).substr(0, len)).ok());
    auto d = elf_dependencies(f, default_search_paths());
    if (!d.ok()) {
      ++errors;
      EXPECT_NE(d.error().message().find(f.string()), std::string::npos) << d.error().message();
    }
  }
  EXPECT_GT(errors, 0);
}

TEST(ElfDeps, RunpathOriginIsExpanded) {
  auto td = TempDir::create("ktstr-elf-");
  ASSERT_TRUE(td.ok());
  ASSERT_TRUE(test::install_fixture(td->path()).ok());
  auto d = elf_dependencies(td->path() / "bin" / "fixture", default_search_paths());
  ASSERT_TRUE(d.ok()) << d.error().message();
  ASSERT_TRUE(has_lib(*d, "libktstrfixture.so.1"));
  for (auto& l : d->libraries) {
    if (l.name == "libktstrfixture.so.1") {
      EXPECT_EQ(l.path, td->path() / "lib" / "libktstrfixture.so.1");  // $ORIGIN/../lib, normalized
    }
  }
}

TEST(ElfDeps, MissingLibraryNamesSonameBinaryAndDirs) {
  auto td = TempDir::create("ktstr-elf-");
  ASSERT_TRUE(td.ok());
  ASSERT_TRUE(test::install_fixture(td->path(), /*without_lib=*/true).ok());
  auto bin = td->path() / "bin" / "fixture";
  auto d = elf_dependencies(bin, default_search_paths());
  ASSERT_FALSE(d.ok());
  const auto msg = d.error().message();
  EXPECT_EQ(d.error().code(), Errc::kNotFound);
  EXPECT_NE(msg.find("libktstrfixture.so.1 needed by " + bin.string() + " not found in"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find((td->path() / "lib").string()), std::string::npos) << msg;  // $ORIGIN/../lib
  EXPECT_NE(msg.find("/usr/lib/x86_64-linux-gnu"), std::string::npos) << msg;
}

TEST(ElfDeps, WrongClassLibraryIsSkipped) {
  if (!fs::exists("/usr/lib32/libc.so.6")) {
    GTEST_SKIP() << "no 32-bit libc to confuse us";
  }
  SearchPaths sp = default_search_paths();
  sp.conf_dirs.insert(sp.conf_dirs.begin(), "/usr/lib32");
  auto d = elf_dependencies("/bin/ls", sp);
  ASSERT_TRUE(d.ok()) << d.error().message();
  for (auto& l : d->libraries) {
    EXPECT_NE(l.path.parent_path(), "/usr/lib32") << l.name;
  }
}

TEST(SearchPaths, ParsesIncludesCommentsAndSeparators) {
  auto td = TempDir::create("ktstr-ldconf-");
  ASSERT_TRUE(td.ok());
  auto& dir = td->path();
  fs::create_directories(dir / "conf.d");
  ASSERT_TRUE(write_file(dir / "ld.so.conf",
                         "# comment\n/first/dir   # trailing\ninclude conf.d/*.conf\n"
                         "hwcap 0 nosegneg\n/a:/b,/c/ /d=libc5\n/first/dir\n"
                         "include ld.so.conf\n")  // a loop: must terminate
                  .ok());
  ASSERT_TRUE(write_file(dir / "conf.d" / "b.conf", "/from/b\n").ok());
  ASSERT_TRUE(write_file(dir / "conf.d" / "a.conf", "/from/a\n").ok());
  ASSERT_TRUE(write_file(dir / "conf.d" / "ignored.txt", "/nope\n").ok());
  auto sp = search_paths_from_conf(dir / "ld.so.conf");
  std::vector<fs::path> want = {"/first/dir", "/from/a", "/from/b", "/a", "/b", "/c", "/d"};
  EXPECT_EQ(sp.conf_dirs, want);
  EXPECT_FALSE(sp.default_dirs.empty());
  EXPECT_EQ(sp.default_dirs.front(), "/lib/x86_64-linux-gnu");

  auto none = search_paths_from_conf(dir / "missing.conf");
  EXPECT_TRUE(none.conf_dirs.empty());
  EXPECT_FALSE(none.default_dirs.empty());
}

}  // namespace
}  // namespace ktstr::initramfs
