#include <gtest/gtest.h>

#include "kernel/detail/apt.h"
#include "kernel/fetch.h"

namespace ktstr::kernel::detail {
namespace {

TEST(KernelApt, PackageNamesOfBothSchemes) {
  EXPECT_EQ(kernel_package_abi("linux-binary-unsigned-7.2.13+deb14-cloud-amd64", "cloud-amd64"),
            "7.2.13+deb14");
  EXPECT_EQ(kernel_package_abi("linux-image-6.12.117+deb13-cloud-amd64-unsigned", "cloud-amd64"),
            "6.12.117+deb13");
  EXPECT_EQ(kernel_package_abi("linux-image-6.1.0-28-cloud-amd64-unsigned", "cloud-amd64"),
            "6.1.0-28");
  EXPECT_EQ(kernel_package_abi("linux-image-6.12.12+bpo-amd64-unsigned", "amd64"), "6.12.12+bpo");
  EXPECT_EQ(kernel_package_abi("linux-binary-unsigned-7.2.13+deb14-amd64", "amd64"),
            "7.2.13+deb14");
  EXPECT_EQ(kernel_package_abi("linux-binary-unsigned-7.2.13+deb14-rt-amd64", "rt-amd64"),
            "7.2.13+deb14");
}

TEST(KernelApt, OtherFlavoursAndPackagesAreNotMatched) {
  // The generic "amd64" flavour must not pick up cloud or rt packages.
  EXPECT_FALSE(kernel_package_abi("linux-binary-unsigned-7.2.13+deb14-cloud-amd64", "amd64"));
  EXPECT_FALSE(kernel_package_abi("linux-binary-unsigned-7.2.13+deb14-rt-amd64", "amd64"));
  EXPECT_FALSE(kernel_package_abi("linux-image-6.1.0-28-rt-amd64-unsigned", "amd64"));
  EXPECT_FALSE(
      kernel_package_abi("linux-binary-7.2.13+deb14-cloud-amd64", "cloud-amd64"));  // signed
  EXPECT_FALSE(kernel_package_abi("linux-image-7.2.13+deb14-cloud-amd64", "cloud-amd64"));
  EXPECT_FALSE(kernel_package_abi("linux-image-7.2.13+deb14-cloud-amd64-dbg", "cloud-amd64"));
  EXPECT_FALSE(kernel_package_abi("linux-image-cloud-amd64-unsigned", "cloud-amd64"));
  EXPECT_FALSE(kernel_package_abi("linux-binary-unsigned--cloud-amd64", "cloud-amd64"));
}

TEST(KernelApt, ReleaseAbiKeepsFlavoursApart) {
  EXPECT_EQ(release_abi("7.2.13+deb14-cloud-amd64", "cloud-amd64"), "7.2.13+deb14");
  EXPECT_EQ(release_abi("7.2.13+deb14-amd64", "amd64"), "7.2.13+deb14");
  EXPECT_EQ(release_abi("6.1.0-28-amd64", "amd64"), "6.1.0-28");
  EXPECT_FALSE(release_abi("7.2.13+deb14-cloud-amd64", "amd64"));
  EXPECT_FALSE(release_abi("7.2.13+deb14-amd64", "cloud-amd64"));
  EXPECT_FALSE(release_abi("-amd64", "amd64"));
  EXPECT_FALSE(release_abi("amd64", "amd64"));
}

TEST(KernelApt, ParsesSearchAndMadison) {
  auto names = parse_search(
      "linux-binary-unsigned-7.2.13+deb14-amd64 - Linux 7.2.13 for 64-bit PCs (unsigned kernel "
      "image)\n"
      "linux-binary-unsigned-7.2.13+deb14-cloud-amd64 - Linux 7.2.13 for x86-64 cloud\n\n");
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[1], "linux-binary-unsigned-7.2.13+deb14-cloud-amd64");

  auto rows = parse_madison(
      "linux-image-6.12.117+deb13-cloud-amd64-unsigned | 6.12.117-1 | http://deb.debian.org/debian "
      "trixie/main amd64 Packages\n"
      "linux-image-6.12.107+deb13-cloud-amd64-unsigned | 6.12.107-1 | http://deb.debian.org/debian "
      "trixie/main amd64 Packages\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].first, "linux-image-6.12.117+deb13-cloud-amd64-unsigned");
  EXPECT_EQ(rows[0].second, "6.12.117-1");
  EXPECT_TRUE(parse_madison("N: Unable to locate package foo\n").empty());
}

TEST(KernelApt, DependsWithPrefix) {
  std::string show =
      "Package: linux-binary-unsigned-7.2.13+deb14-cloud-amd64\n"
      "Version: 7.2.13-1\n"
      "Depends: linux-base-7.2.13+deb14-cloud-amd64 (= 7.2.13-1), kmod | busybox\n"
      "Pre-Depends: linux-base (>= 4.12~)\n";
  auto deps = depends_with_prefix(show, "linux-base-7.2.13+deb14");
  ASSERT_EQ(deps.size(), 1u);
  EXPECT_EQ(deps[0], "linux-base-7.2.13+deb14-cloud-amd64");
  EXPECT_TRUE(depends_with_prefix(show, "linux-base-9").empty());
}

TEST(KernelApt, NewestByPackageVersion) {
  std::vector<KernelPackage> pkgs = {
      {"a", "6.12.107+deb13", "6.12.107-1", "cloud-amd64"},
      {"b", "6.12.117+deb13", "6.12.117-1", "cloud-amd64"},
      {"c", "6.12.9+deb13", "6.12.9-3", "cloud-amd64"},
  };
  auto n = newest(pkgs);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->name, "b");
  EXPECT_EQ(n->release(), "6.12.117+deb13-cloud-amd64");
  EXPECT_FALSE(newest({}).has_value());
}

TEST(KernelApt, MirrorFromDeb822Sources) {
  // Security stanza first: it must be skipped.
  auto m = parse_deb822_sources(
      "Types: deb\n"
      "URIs: http://deb.debian.org/debian-security\n"
      "Suites: bookworm-security\n"
      "Components: main\n"
      "\n"
      "Types: deb\n"
      "# http://snapshot.debian.org/archive/debian/20250520T000000Z\n"
      "URIs: http://mirror.example/debian\n"
      "Suites: bookworm bookworm-updates\n"
      "Components: main\n"
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->uri, "http://mirror.example/debian");
  EXPECT_EQ(m->keyring, "/usr/share/keyrings/debian-archive-keyring.gpg");
  EXPECT_FALSE(parse_deb822_sources("Types: deb-src\nURIs: http://x/debian\nSuites: sid\n"));
}

TEST(KernelApt, MirrorFromOneLineSources) {
  auto m = parse_sources_list(
      "# comment\n"
      "deb http://security.debian.org/debian-security bookworm-security main\n"
      "deb [arch=amd64 signed-by=/k.gpg] http://ftp.example/debian bookworm main\n");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->uri, "http://ftp.example/debian");
  EXPECT_EQ(m->keyring, "/k.gpg");
  EXPECT_FALSE(parse_sources_list("deb-src http://x/debian sid main\n"));
}

TEST(KernelApt, PrivateAptRejectsBadSuite) {
  for (const char* bad : {"sid main", "..", "", "a/b"}) {
    auto r = PrivateApt::create("/nonexistent-ktstr", bad, Mirror{});
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message().find("--suite"), std::string::npos);
  }
}

TEST(KernelFetchFlavour, Names) {
  EXPECT_EQ(debian_flavour("cloud").value(), "cloud-amd64");
  EXPECT_EQ(debian_flavour("generic").value(), "amd64");
  EXPECT_EQ(debian_flavour("amd64").value(), "amd64");
  EXPECT_EQ(debian_flavour("rt").value(), "rt-amd64");
  auto bad = debian_flavour("arm64");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("--flavour"), std::string::npos);
}

}  // namespace
}  // namespace ktstr::kernel::detail
