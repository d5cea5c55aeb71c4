#include "initramfs/cpio_writer.h"

#include <archive_entry.h>
#include <gtest/gtest.h>

#include "test_support.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::initramfs {
namespace {

using test::find;
using test::read_archive;

TEST(CpioWriter, EntriesReadBackWithTypesModesAndParents) {
  CpioWriter w;
  ASSERT_TRUE(w.add_file("/etc/motd", "hello\n", 0640).ok());
  ASSERT_TRUE(w.add_symlink("/bin/sh", "busybox").ok());
  ASSERT_TRUE(w.add_char_device("/dev/console", 5, 1).ok());
  ASSERT_TRUE(w.add_directory("/tmp", 01777).ok());
  ASSERT_TRUE(w.add_file("/a/b/c/empty", "", 0600).ok());
  auto bytes = w.write_to_memory();
  ASSERT_TRUE(bytes.ok()) << bytes.error().message();
  auto entries = read_archive(*bytes);
  ASSERT_TRUE(entries.ok()) << entries.error().message();

  auto* motd = find(*entries, "etc/motd");
  ASSERT_NE(motd, nullptr);
  EXPECT_EQ(motd->type, AE_IFREG);
  EXPECT_EQ(motd->perm, 0640u);
  EXPECT_EQ(motd->data, "hello\n");
  EXPECT_EQ(motd->mtime, 0);
  EXPECT_EQ(motd->uid, 0);
  EXPECT_EQ(motd->gid, 0);

  auto* sh = find(*entries, "bin/sh");
  ASSERT_NE(sh, nullptr);
  EXPECT_EQ(sh->type, AE_IFLNK);
  EXPECT_EQ(sh->symlink, "busybox");

  auto* console = find(*entries, "dev/console");
  ASSERT_NE(console, nullptr);
  EXPECT_EQ(console->type, AE_IFCHR);
  EXPECT_EQ(console->rdevmajor, 5u);
  EXPECT_EQ(console->rdevminor, 1u);
  EXPECT_EQ(console->perm, 0600u);

  auto* tmp = find(*entries, "tmp");
  ASSERT_NE(tmp, nullptr);
  EXPECT_EQ(tmp->type, AE_IFDIR);
  EXPECT_EQ(tmp->perm, 01777u);

  // Implicit parents, each once, each before its children.
  for (const char* dir : {"a", "a/b", "a/b/c", "etc", "bin", "dev"}) {
    int count = 0;
    for (auto& e : *entries) {
      count += e.path == dir;
    }
    EXPECT_EQ(count, 1) << dir;
    EXPECT_EQ(find(*entries, dir)->type, AE_IFDIR) << dir;
  }
  for (size_t i = 0; i < entries->size(); ++i) {
    auto& path = (*entries)[i].path;
    for (size_t pos = path.find('/'); pos != std::string::npos; pos = path.find('/', pos + 1)) {
      std::string parent = path.substr(0, pos);
      bool before = false;
      for (size_t j = 0; j < i; ++j) {
        before = before || (*entries)[j].path == parent;
      }
      EXPECT_TRUE(before) << parent << " must precede " << path;
    }
  }
  EXPECT_EQ(find(*entries, "a/b/c/empty")->size, 0);
}

TEST(CpioWriter, OutputIsIndependentOfInsertionOrder) {
  CpioWriter a, b;
  ASSERT_TRUE(a.add_file("/x/1", "one").ok());
  ASSERT_TRUE(a.add_symlink("/y", "x/1").ok());
  ASSERT_TRUE(a.add_directory("/z", 0700).ok());
  ASSERT_TRUE(b.add_directory("/z", 0700).ok());
  ASSERT_TRUE(b.add_symlink("/y", "x/1").ok());
  ASSERT_TRUE(b.add_file("/x/1", "one").ok());
  auto ba = a.write_to_memory(), bb = b.write_to_memory();
  ASSERT_TRUE(ba.ok() && bb.ok());
  EXPECT_EQ(*ba, *bb);
  EXPECT_EQ(ba->size() % 4, 0u);
}

TEST(CpioWriter, HostFileKeepsModeAndContent) {
  auto td = TempDir::create("ktstr-cpio-");
  ASSERT_TRUE(td.ok());
  auto host = td->path() / "script.sh";
  std::string content(3 << 20, 'q');  // bigger than one read chunk
  content += "tail";
  ASSERT_TRUE(write_file(host, content).ok());
  std::filesystem::permissions(host, std::filesystem::perms(0750));
  CpioWriter w;
  ASSERT_TRUE(w.add_file_from_host("/opt/script.sh", host).ok());
  ASSERT_TRUE(w.add_file_from_host("/opt/forced", host, 0600).ok());
  auto out = td->path() / "out.cpio";
  ASSERT_TRUE(w.write_to_file(out).ok());
  auto entries = test::read_archive_file(out);
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  auto* s = find(*entries, "opt/script.sh");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->perm, 0750u);
  EXPECT_TRUE(s->data == content);
  EXPECT_EQ(find(*entries, "opt/forced")->perm, 0600u);
}

TEST(CpioWriter, ErrorsNameTheFile) {
  CpioWriter w;
  auto missing = w.add_file_from_host("/x", "/nonexistent/ktstr-file");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("/nonexistent/ktstr-file"), std::string::npos);

  auto relative = w.add_file("etc/passwd", "");
  ASSERT_FALSE(relative.ok());
  EXPECT_NE(relative.error().message().find("etc/passwd"), std::string::npos);
  EXPECT_FALSE(w.add_file("/a/../b", "").ok());
  EXPECT_FALSE(w.add_directory("/").ok());

  ASSERT_TRUE(w.add_file("/f", "1").ok());
  auto twice = w.add_file("/f", "2");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message().find("/f"), std::string::npos);
  auto below_file = w.add_file("/f/g", "");
  ASSERT_FALSE(below_file.ok());
  EXPECT_NE(below_file.error().message().find("/f is a file"), std::string::npos);

  // Identical symlinks and repeated directories are fine.
  EXPECT_TRUE(w.add_symlink("/l", "f").ok());
  EXPECT_TRUE(w.add_symlink("/l", "f").ok());
  EXPECT_FALSE(w.add_symlink("/l", "g").ok());
  EXPECT_TRUE(w.add_directory("/d").ok());
  EXPECT_TRUE(w.add_directory("/d/").ok());
  EXPECT_TRUE(w.contains("/d"));
  EXPECT_TRUE(w.contains("//f"));
}

TEST(CpioWriter, VanishedHostFileFailsAtWrite) {
  auto td = TempDir::create("ktstr-cpio-");
  ASSERT_TRUE(td.ok());
  auto host = td->path() / "gone";
  ASSERT_TRUE(write_file(host, "x").ok());
  CpioWriter w;
  ASSERT_TRUE(w.add_file_from_host("/gone", host).ok());
  std::filesystem::remove(host);
  auto out = td->path() / "out.cpio";
  auto st = w.write_to_file(out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find(host.string()), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(out));  // no partial archive left behind
}

}  // namespace
}  // namespace ktstr::initramfs
