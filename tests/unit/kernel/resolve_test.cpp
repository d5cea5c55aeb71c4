#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fake_kernel.h"
#include "kernel/cache.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::kernel {
namespace {

namespace fs = std::filesystem;

// A cache laid out by hand, as another ktstr version might have left it.
class KernelResolve : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("ktstr-kresolve-");
    ASSERT_TRUE(d.ok());
    dir_ = std::move(d).value();
    fs::create_directories(root());
  }
  fs::path root() const { return dir_.path() / "kernels"; }
  void add(const std::string& key, const std::string& version, const std::string& created) {
    fs::path d = root() / key;
    fs::create_directories(d);
    ASSERT_TRUE(write_file(d / "vmlinuz", "not really a kernel").ok());
    ASSERT_TRUE(write_file(d / "config", "CONFIG_SCHED_CLASS_EXT=y\n").ok());
    nlohmann::json j = {{"key", key},
                        {"version", version},
                        {"source", "test"},
                        {"arch", "x86_64"},
                        {"config_hash", nullptr},
                        {"sched_ext", true},
                        {"btf", false},
                        {"link_text", "0xffffffff81000000"},
                        {"created", created}};
    ASSERT_TRUE(write_file(d / "metadata.json", j.dump(2)).ok());
  }
  void add_standard() {
    add("6.12.117+deb13-cloud-amd64", "6.12.117+deb13-cloud-amd64", "2025-03-01T00:00:00Z");
    add("7.2.13+deb14-cloud-amd64", "7.2.13+deb14-cloud-amd64", "2025-01-01T00:00:00Z");
    add("7.2.9+deb14-cloud-amd64", "7.2.9+deb14-cloud-amd64", "2025-02-01T00:00:00Z");
  }
  Result<KernelEntry> resolve(std::optional<std::string> spec) {
    return resolve_kernel(std::move(spec), KernelCache(root()));
  }

  TempDir dir_;
};

TEST_F(KernelResolve, NoSpecPicksTheNewestCreated) {
  add_standard();
  auto e = resolve(std::nullopt);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->key, "6.12.117+deb13-cloud-amd64");
  EXPECT_EQ(e->image, root() / e->key / "vmlinuz");
  EXPECT_EQ(e->config, root() / e->key / "config");
  EXPECT_TRUE(e->btf.empty());
  EXPECT_EQ(e->link_text, 0xffffffff81000000ull);
  EXPECT_TRUE(e->cached);
  // An empty string means the same as no spec.
  EXPECT_EQ(resolve("")->key, "6.12.117+deb13-cloud-amd64");
}

TEST_F(KernelResolve, ByKey) {
  add_standard();
  auto e = resolve("7.2.9+deb14-cloud-amd64");
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->key, "7.2.9+deb14-cloud-amd64");
}

TEST_F(KernelResolve, ByVersionPrefixTakesTheHighestVersion) {
  add_standard();
  auto e = resolve("7.2");
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->key, "7.2.13+deb14-cloud-amd64");  // 7.2.13 > 7.2.9, though created earlier
  EXPECT_EQ(resolve("7")->key, "7.2.13+deb14-cloud-amd64");
  EXPECT_EQ(resolve("6.12")->key, "6.12.117+deb13-cloud-amd64");
  EXPECT_EQ(resolve("7.2.9")->key, "7.2.9+deb14-cloud-amd64");
}

TEST_F(KernelResolve, EmptyCacheTellsWhatToDo) {
  auto e = resolve(std::nullopt);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message(), "no kernel in the cache (" + root().string() +
                                     "); run `ktstr kernel fetch` or pass --kernel PATH");
  // Also when the cache folder does not exist at all.
  auto none = resolve_kernel(std::nullopt, KernelCache(dir_.path() / "absent"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message().find("ktstr kernel fetch"), std::string::npos);
}

TEST_F(KernelResolve, UnknownSpecListsWhatIsCached) {
  add_standard();
  auto e = resolve("5.10");
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().code(), Errc::kNotFound);
  EXPECT_NE(e.error().message().find("7.2.13+deb14-cloud-amd64"), std::string::npos)
      << e.error().message();
  EXPECT_NE(e.error().message().find("ktstr kernel list"), std::string::npos);
  EXPECT_FALSE(resolve("7.2.1").ok());  // not a prefix of 7.2.13 at a component boundary
}

TEST_F(KernelResolve, BrokenEntriesAreSkipped) {
  add_standard();
  fs::create_directories(root() / "9.9.9-broken");
  ASSERT_TRUE(write_file(root() / "9.9.9-broken" / "metadata.json", "{not json").ok());
  add("mismatch", "9.9.9", "2030-01-01T00:00:00Z");
  fs::rename(root() / "mismatch", root() / "renamed");  // key no longer matches its folder
  EXPECT_EQ(resolve(std::nullopt)->key, "6.12.117+deb13-cloud-amd64");
  EXPECT_FALSE(resolve("9.9.9-broken").ok());
}

TEST_F(KernelResolve, PathToAnImageWithFilesBesideIt) {
  test::FakeElf spec;
  spec.btf = test::fake_btf(100);
  fs::path kdir = dir_.path() / "build";
  fs::create_directories(kdir);
  test::write_bytes(kdir / "bzImage", test::make_kernel(spec, "6.99.3-custom #1"));
  ASSERT_TRUE(write_file(kdir / ".config", "# CONFIG_SCHED_CLASS_EXT is not set\n").ok());
  ASSERT_TRUE(write_file(kdir / "vmlinux.btf", "btf").ok());
  auto e = resolve((kdir / "bzImage").string());
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_FALSE(e->cached);
  EXPECT_EQ(e->image, kdir / "bzImage");
  EXPECT_EQ(e->config, kdir / ".config");
  EXPECT_EQ(e->btf, kdir / "vmlinux.btf");
  EXPECT_EQ(e->version, "6.99.3-custom");
  EXPECT_FALSE(e->sched_ext);
  EXPECT_EQ(e->link_text, spec.text_addr);
  // The folder of a build tree works too.
  auto tree = dir_.path() / "linux";
  fs::create_directories(tree / "arch/x86/boot");
  fs::copy_file(kdir / "bzImage", tree / "arch/x86/boot/bzImage");
  ASSERT_TRUE(write_file(tree / ".config", "CONFIG_SCHED_CLASS_EXT=y\n").ok());
  auto t = resolve(tree.string());
  ASSERT_TRUE(t.ok()) << t.error().message();
  EXPECT_EQ(t->config, tree / ".config");
  EXPECT_TRUE(t->sched_ext);
}

TEST_F(KernelResolve, PathToNonKernelIsOneLineError) {
  fs::path f = dir_.path() / "README";
  ASSERT_TRUE(write_file(f, std::string(4096, 'a')).ok());
  auto e = resolve(f.string());
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message(), f.string() + " is not a Linux kernel image (no bzImage header)");
  auto missing = resolve((dir_.path() / "nope" / "bzImage").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("no such file"), std::string::npos);
}

TEST_F(KernelResolve, CacheEntryFolderAsPath) {
  add_standard();
  auto e = resolve((root() / "7.2.9+deb14-cloud-amd64").string());
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->key, "7.2.9+deb14-cloud-amd64");
  EXPECT_TRUE(e->cached);
}

}  // namespace
}  // namespace ktstr::kernel
