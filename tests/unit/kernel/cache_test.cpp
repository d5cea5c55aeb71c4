#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "fake_kernel.h"
#include "kernel/cache.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::kernel {
namespace {

namespace fs = std::filesystem;

// Sets (or unsets, for nullptr) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(KernelCache, RootFromEnvironment) {
  ScopedEnv home("HOME", "/home/someone");
  {
    ScopedEnv a("KTSTR_CACHE_DIR", "/custom/cache");
    ScopedEnv b("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(cache_root(), fs::path("/custom/cache"));
  }
  {
    ScopedEnv a("KTSTR_CACHE_DIR", nullptr);
    ScopedEnv b("XDG_CACHE_HOME", "/xdg");
    EXPECT_EQ(cache_root(), fs::path("/xdg/ktstr/kernels"));
  }
  {
    ScopedEnv a("KTSTR_CACHE_DIR", "");
    ScopedEnv b("XDG_CACHE_HOME", nullptr);
    EXPECT_EQ(cache_root(), fs::path("/home/someone/.cache/ktstr/kernels"));
  }
}

class KernelCacheImport : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("ktstr-kcache-");
    ASSERT_TRUE(d.ok());
    dir_ = std::move(d).value();
    src_ = dir_.path() / "src";
    fs::create_directories(src_);
    spec_.btf = test::fake_btf(5000);
    image_ = src_ / "bzImage";
    test::write_bytes(image_, test::make_kernel(spec_, "6.99.1-test (me@host) #1 SMP"));
    ASSERT_TRUE(write_file(src_ / "config", "CONFIG_SCHED_CLASS_EXT=y\nCONFIG_NUMA=y\n").ok());
  }
  fs::path root() const { return dir_.path() / "cache"; }
  std::vector<std::string> names_in_root() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(root()))
      out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }

  TempDir dir_;
  fs::path src_, image_;
  test::FakeElf spec_;
};

TEST_F(KernelCacheImport, WritesACompleteEntry) {
  KernelCache cache(root());
  ImportRequest req;
  req.image = image_;
  req.config = src_ / "config";
  req.name = "mine";
  auto e = cache.import(req);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_TRUE(e->key.starts_with("import-mine-")) << e->key;
  EXPECT_EQ(e->key.size(), std::string("import-mine-").size() + 8);
  EXPECT_EQ(e->dir, root() / e->key);
  EXPECT_EQ(e->version, "6.99.1-test");
  EXPECT_TRUE(e->sched_ext);
  EXPECT_TRUE(e->has_btf);
  EXPECT_TRUE(e->cached);
  ASSERT_TRUE(e->link_text.has_value());
  EXPECT_EQ(*e->link_text, spec_.text_addr);
  EXPECT_TRUE(e->config_hash.starts_with("fnv1a64:"));
  EXPECT_EQ(e->source, "import:" + image_.string());
  EXPECT_TRUE(e->system_map.empty());

  // The files, byte for byte.
  auto btf = read_file(e->btf);
  ASSERT_TRUE(btf.ok());
  EXPECT_EQ(std::vector<uint8_t>(btf->begin(), btf->end()), spec_.btf);
  EXPECT_EQ(read_file(e->image).value(), read_file(image_).value());
  EXPECT_EQ(read_file(e->config).value(), read_file(src_ / "config").value());

  auto meta = nlohmann::json::parse(read_file(e->dir / "metadata.json").value());
  EXPECT_EQ(meta["key"], e->key);
  EXPECT_EQ(meta["link_text"], "0xffffffff81000000");
  EXPECT_EQ(meta["btf"], true);
  EXPECT_EQ(meta["sched_ext"], true);
  EXPECT_EQ(meta["arch"], "x86_64");
  EXPECT_TRUE(meta["created"].get<std::string>().ends_with("Z"));

  // Only the entry and the lock file: no temp folder left behind.
  EXPECT_EQ(names_in_root(), (std::vector<std::string>{".lock", e->key}));

  // Importing the same image again returns the same entry.
  auto again = cache.import(req);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->key, e->key);
  EXPECT_EQ(again->created, e->created);
  EXPECT_EQ(names_in_root().size(), 2u);
}

TEST_F(KernelCacheImport, ConfigFromIkconfigWhenNoneGiven) {
  spec_.ikconfig = "# CONFIG_SCHED_CLASS_EXT is not set\n";
  test::write_bytes(image_, test::make_kernel(spec_, "6.99.2"));
  KernelCache cache(root());
  ImportRequest req;
  req.image = image_;
  auto e = cache.import(req);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_TRUE(e->key.starts_with("import-6.99.2-")) << e->key;
  ASSERT_FALSE(e->config.empty());
  EXPECT_EQ(read_file(e->config).value(), spec_.ikconfig);
  EXPECT_FALSE(e->sched_ext);
}

TEST_F(KernelCacheImport, NonKernelIsRejectedAndLeavesNothing) {
  KernelCache cache(root());
  ImportRequest req;
  req.image = src_ / "config";
  auto e = cache.import(req);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message(),
            (src_ / "config").string() + " is not a Linux kernel image (no bzImage header)");
  EXPECT_FALSE(fs::exists(root()));
}

TEST_F(KernelCacheImport, ConcurrentImportsOfOneImageMakeOneEntry) {
  KernelCache cache(root());
  constexpr int kThreads = 4;
  std::vector<std::string> keys(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      KernelCache c(root());
      ImportRequest req;
      req.image = image_;
      req.name = "race";
      auto e = c.import(req);
      if (e.ok())
        keys[i] = e->key;
      else
        errors[i] = e.error().message();
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    EXPECT_EQ(errors[i], "");
    EXPECT_EQ(keys[i], keys[0]);
  }
  auto list = cache.list();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(names_in_root(), (std::vector<std::string>{".lock", keys[0]}));
}

TEST_F(KernelCacheImport, HalfEntriesAreInvisibleAndCleaned) {
  KernelCache cache(root());
  ImportRequest req;
  req.image = image_;
  ASSERT_TRUE(cache.import(req).ok());
  // What a crash could leave: a temp folder, and a folder without metadata.
  fs::create_directories(root() / ".tmp-import-x-123456");
  fs::create_directories(root() / "broken");
  ASSERT_TRUE(write_file(root() / "broken" / "vmlinuz", "x").ok());
  auto list = cache.list();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
  EXPECT_FALSE(cache.get("broken").ok());

  auto removed = cache.clean(/*keep=*/1);
  ASSERT_TRUE(removed.ok()) << removed.error().message();
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ(removed->front().key, "broken");
  EXPECT_FALSE(fs::exists(root() / "broken"));
  // A young temp folder may belong to a running import: kept.
  EXPECT_TRUE(fs::exists(root() / ".tmp-import-x-123456"));
  EXPECT_EQ(cache.list()->size(), 1u);
}

TEST_F(KernelCacheImport, CleanKeepsTheNewest) {
  KernelCache cache(root());
  std::vector<std::string> keys;
  for (int i = 0; i < 3; ++i) {
    ImportRequest req;
    req.image = image_;
    req.name = "k" + std::to_string(i);
    auto e = cache.import(req);
    ASSERT_TRUE(e.ok());
    keys.push_back(e->key);
  }
  // Distinct creation times, oldest first.
  for (int i = 0; i < 3; ++i) {
    auto path = root() / keys[i] / "metadata.json";
    auto meta = nlohmann::json::parse(read_file(path).value());
    meta["created"] = "2025-01-0" + std::to_string(i + 1) + "T00:00:00Z";
    ASSERT_TRUE(write_file(path, meta.dump()).ok());
  }
  auto removed = cache.clean(1);
  ASSERT_TRUE(removed.ok());
  ASSERT_EQ(removed->size(), 2u);
  EXPECT_EQ(removed->at(0).key, keys[1]);
  EXPECT_EQ(removed->at(1).key, keys[0]);
  auto left = cache.list();
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().key, keys[2]);
  auto all = cache.clean(0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1u);
  EXPECT_TRUE(cache.list()->empty());
}

}  // namespace
}  // namespace ktstr::kernel
