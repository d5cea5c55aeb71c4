#include <gtest/gtest.h>

#include "kernel/version.h"

namespace ktstr::kernel {
namespace {

int sign(int v) { return (v > 0) - (v < 0); }

TEST(KernelVersion, DpkgOrdering) {
  struct Case {
    const char *a, *b;
    int want;
  } cases[] = {
      {"7.2.13+deb14", "6.12.117+deb13", 1},
      {"6.12.117+deb13", "6.12.107+deb13", 1},
      {"6.12.9", "6.12.10", -1},
      {"7.2.13-1", "7.2.13-2", -1},
      {"7.2.13-1", "7.2.13-1", 0},
      {"1.0~rc1", "1.0", -1},
      {"1:1.0", "2.0", 1},
      {"6.1.0-28", "6.1.0-9", 1},
      {"6.12.12+bpo", "6.12.12", 1},
      {"1.0a", "1.0", 1},
      {"1.0", "1.0+x", -1},
      {"7.2.13+deb14-cloud-amd64", "6.12.117+deb13-cloud-amd64", 1},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(sign(compare_versions(c.a, c.b)), c.want) << c.a << " vs " << c.b;
    EXPECT_EQ(sign(compare_versions(c.b, c.a)), -c.want) << c.b << " vs " << c.a;
  }
}

TEST(KernelVersion, PrefixAtComponentBoundary) {
  EXPECT_TRUE(version_has_prefix("7.2.13+deb14-cloud-amd64", "7.2"));
  EXPECT_TRUE(version_has_prefix("7.2.13+deb14-cloud-amd64", "7.2.13"));
  EXPECT_TRUE(version_has_prefix("7.2.13+deb14-cloud-amd64", "7.2.13+deb"));
  EXPECT_TRUE(version_has_prefix("7.2.13", "7.2.13"));
  EXPECT_FALSE(version_has_prefix("7.2.13", "7.2.1"));
  EXPECT_FALSE(version_has_prefix("7.2.13", "7.3"));
  EXPECT_FALSE(version_has_prefix("7.2.13", ""));
  EXPECT_FALSE(version_has_prefix("7.2", "7.2.13"));
}

}  // namespace
}  // namespace ktstr::kernel
