// fetch_debian_kernel end to end against a local, unsigned file:// Debian
// repository built here: no network needed, only apt-get and dpkg-deb.
#include <gtest/gtest.h>

#include "fake_kernel.h"
#include "kernel/fetch.h"
#include "util/files.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace ktstr::kernel {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

struct FakePackage {
  std::string name, version, depends;
  std::vector<std::pair<std::string, std::string>> files;  // path in the package -> content
};

class KernelFetch : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* tool : {"apt-get", "apt-cache", "dpkg-deb", "sha256sum"})
      if (!find_program(tool).ok()) GTEST_SKIP() << tool << " is not installed";
    auto d = TempDir::create("ktstr-kfetch-");
    ASSERT_TRUE(d.ok());
    dir_ = std::move(d).value();
  }

  std::string kernel_image(const std::string& release) {
    test::FakeElf spec;
    spec.btf = test::fake_btf(2000);
    auto bytes = test::make_kernel(spec, release + " (fake) #1 SMP");
    return std::string(bytes.begin(), bytes.end());
  }

  // Old naming scheme: everything in linux-image-<abi>-<flavour>-unsigned:/boot.
  FakePackage old_scheme(const std::string& abi, const std::string& version, bool sched_ext) {
    std::string rel = abi + "-cloud-amd64";
    return {"linux-image-" + rel + "-unsigned",
            version,
            "",
            {{"boot/vmlinuz-" + rel, kernel_image(rel)},
             {"boot/config-" + rel,
              sched_ext ? "CONFIG_SCHED_CLASS_EXT=y\n" : "# CONFIG_SCHED_CLASS_EXT is not set\n"},
             {"boot/System.map-" + rel, "ffffffffffffffff B The real System.map is in -dbg\n"}}};
  }

  // Writes a repository for `suite` with these packages; returns its URI.
  std::string make_repo(const std::string& suite, const std::vector<FakePackage>& pkgs) {
    fs::path repo = dir_.path() / "repo";
    fs::path bin = repo / "dists" / suite / "main" / "binary-amd64";
    fs::create_directories(bin);
    fs::create_directories(repo / "pool");
    std::string index;
    for (const auto& p : pkgs) {
      fs::path tree = dir_.path() / ("tree-" + p.name);
      fs::create_directories(tree / "DEBIAN");
      std::string control = "Package: " + p.name + "\nVersion: " + p.version +
                            "\nArchitecture: amd64\nMaintainer: test <t@example>\n" +
                            (p.depends.empty() ? "" : "Depends: " + p.depends + "\n") +
                            "Description: fake kernel\n";
      EXPECT_TRUE(write_file(tree / "DEBIAN" / "control", control).ok());
      for (const auto& [path, content] : p.files) {
        fs::create_directories((tree / path).parent_path());
        EXPECT_TRUE(write_file(tree / path, content).ok());
      }
      fs::path deb = repo / "pool" / (p.name + "_" + p.version + "_amd64.deb");
      auto built = run_command(
          {"dpkg-deb", "-Zgzip", "--root-owner-group", "--build", tree.string(), deb.string()},
          seconds(60));
      EXPECT_TRUE(built.ok() && built->status.success()) << (built.ok() ? built->err : "");
      auto sum = run_command({"sha256sum", deb.string()}, seconds(60));
      EXPECT_TRUE(sum.ok());
      index += control.substr(0, control.find("Description:")) + "Filename: pool/" +
               deb.filename().string() + "\nSize: " + std::to_string(fs::file_size(deb)) +
               "\nSHA256: " + sum->out.substr(0, 64) + "\nDescription: fake kernel\n\n";
    }
    EXPECT_TRUE(write_file(bin / "Packages", index).ok());
    return "file://" + repo.string();
  }

  FetchOptions options(const std::string& uri) {
    FetchOptions o;
    o.mirror = uri;
    o.trusted_mirror = true;
    o.cache_dir = dir_.path() / "cache";
    o.progress = [this](std::string_view line) { progress_.emplace_back(line); };
    return o;
  }
  bool said(const std::string& needle) const {
    for (const auto& l : progress_)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }

  TempDir dir_;
  std::vector<std::string> progress_;
};

TEST_F(KernelFetch, NewestWithSchedExtThenCached) {
  auto uri = make_repo("sid", {old_scheme("9.0.0+deb99", "9.0.0-1", false),
                               old_scheme("9.1.0+deb99", "9.1.0-2", true)});
  auto e = fetch_debian_kernel(options(uri));
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->key, "9.1.0+deb99-cloud-amd64");
  EXPECT_EQ(e->version, "9.1.0+deb99-cloud-amd64");
  EXPECT_EQ(e->source, "debian:sid:linux-image-9.1.0+deb99-cloud-amd64-unsigned: 9.1.0-2");
  EXPECT_TRUE(e->sched_ext);
  EXPECT_TRUE(e->has_btf);
  EXPECT_FALSE(e->config.empty());
  EXPECT_TRUE(e->system_map.empty());  // Debian's stub is not kept
  EXPECT_EQ(read_file(e->image).value(), kernel_image("9.1.0+deb99-cloud-amd64"));
  // No temp folders left in the cache.
  for (const auto& f : fs::directory_iterator(dir_.path() / "cache"))
    EXPECT_FALSE(f.path().filename().string().starts_with(".tmp-")) << f.path();

  progress_.clear();
  auto again = fetch_debian_kernel(options(uri));
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->created, e->created);
  EXPECT_TRUE(said("already cached"));
  EXPECT_FALSE(said("downloading"));
}

TEST_F(KernelFetch, ExplicitVersionWithoutSchedExtIsFetchedWithAWarning) {
  auto uri = make_repo("sid", {old_scheme("9.0.0+deb99", "9.0.0-1", false),
                               old_scheme("9.1.0+deb99", "9.1.0-2", true)});
  auto opts = options(uri);
  opts.version = "9.0";
  auto e = fetch_debian_kernel(opts);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->key, "9.0.0+deb99-cloud-amd64");
  EXPECT_FALSE(e->sched_ext);
  EXPECT_TRUE(said("lacks CONFIG_SCHED_CLASS_EXT=y"));
  // Asking again needs no repository at all.
  progress_.clear();
  opts.mirror = "file:///nonexistent-ktstr-repo";
  auto again = fetch_debian_kernel(opts);
  ASSERT_TRUE(again.ok()) << again.error().message();
  EXPECT_EQ(again->key, e->key);
  EXPECT_TRUE(said("already cached"));
}

TEST_F(KernelFetch, NewestWithoutSchedExtIsRefused) {
  auto uri = make_repo("trixie", {old_scheme("9.0.0+deb99", "9.0.0-1", false)});
  auto opts = options(uri);
  opts.suite = "trixie";
  auto e = fetch_debian_kernel(opts);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("lacks CONFIG_SCHED_CLASS_EXT=y"), std::string::npos)
      << e.error().message();
  EXPECT_TRUE(KernelCache(opts.cache_dir).list()->empty());
}

TEST_F(KernelFetch, NewSchemeGenericFlavourWithConfigInLinuxBase) {
  std::string rel = "9.2.0+deb99-amd64";
  auto uri =
      make_repo("sid", {{"linux-binary-unsigned-" + rel,
                         "9.2.0-1",
                         "linux-base-" + rel + " (= 9.2.0-1)",
                         {{"usr/lib/modules/" + rel + "/vmlinuz.unsigned", kernel_image(rel)}}},
                        {"linux-base-" + rel,
                         "9.2.0-1",
                         "",
                         {{"usr/lib/modules/" + rel + "/config", "CONFIG_SCHED_CLASS_EXT=y\n"}}},
                        // The cloud flavour must not be taken for the generic one.
                        {"linux-binary-unsigned-9.3.0+deb99-cloud-amd64",
                         "9.3.0-1",
                         "",
                         {{"usr/lib/modules/9.3.0+deb99-cloud-amd64/vmlinuz.unsigned",
                           kernel_image("9.3.0+deb99-cloud-amd64")}}}});
  auto opts = options(uri);
  opts.flavour = "generic";
  auto e = fetch_debian_kernel(opts);
  ASSERT_TRUE(e.ok()) << e.error().message();
  EXPECT_EQ(e->key, rel);
  EXPECT_TRUE(e->sched_ext);
  EXPECT_EQ(read_file(e->config).value(), "CONFIG_SCHED_CLASS_EXT=y\n");
}

TEST_F(KernelFetch, UnknownVersionListsWhatTheSuiteHas) {
  auto uri = make_repo("sid", {old_scheme("9.1.0+deb99", "9.1.0-2", true)});
  auto opts = options(uri);
  opts.version = "8.4";
  auto e = fetch_debian_kernel(opts);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message().find("it has 9.1.0+deb99 (9.1.0-2)"), std::string::npos)
      << e.error().message();
}

TEST_F(KernelFetch, MissingSuiteIsAOneLineError) {
  auto uri = make_repo("sid", {old_scheme("9.1.0+deb99", "9.1.0-2", true)});
  auto opts = options(uri);
  opts.suite = "nosuch";
  auto e = fetch_debian_kernel(opts);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().message().find('\n'), std::string::npos) << e.error().message();
}

}  // namespace
}  // namespace ktstr::kernel
