#include <gtest/gtest.h>

#include "kernel/config.h"

namespace ktstr::kernel {
namespace {

constexpr const char* kSample = R"(#
# Automatically generated file; DO NOT EDIT.
#
CONFIG_CC_VERSION_TEXT="gcc (Debian 14.2.0-19) 14.2.0"
CONFIG_SCHED_CLASS_EXT=y
CONFIG_VIRTIO_CONSOLE=m
# CONFIG_NUMA is not set
CONFIG_NR_CPUS=512
CONFIG_LOCALVERSION="with \"quotes\" and \\ slash"
CONFIG_CPUSETS=y
CONFIG_DEBUG_INFO_BTF=y
CONFIG_SCHED_MC=y
CONFIG_SCHED_SMT=n
not a config line
   CONFIG_INDENTED=y
)";

TEST(KernelConfig, ParsesAllValueKinds) {
  auto c = KernelConfig::parse(kSample);
  EXPECT_EQ(c.value("CONFIG_SCHED_CLASS_EXT"), "y");
  EXPECT_EQ(c.value("SCHED_CLASS_EXT"), "y");  // prefix optional
  EXPECT_EQ(c.value("VIRTIO_CONSOLE"), "m");
  EXPECT_EQ(c.value("NUMA"), "n");
  EXPECT_EQ(c.value("NR_CPUS"), "512");
  EXPECT_EQ(c.value("CC_VERSION_TEXT"), "gcc (Debian 14.2.0-19) 14.2.0");
  EXPECT_EQ(c.value("LOCALVERSION"), "with \"quotes\" and \\ slash");
  EXPECT_EQ(c.value("INDENTED"), "y");
  EXPECT_FALSE(c.value("NOT_THERE").has_value());
}

TEST(KernelConfig, EnabledAndBuiltin) {
  auto c = KernelConfig::parse(kSample);
  EXPECT_TRUE(c.enabled("SCHED_CLASS_EXT"));
  EXPECT_TRUE(c.builtin("SCHED_CLASS_EXT"));
  EXPECT_TRUE(c.enabled("VIRTIO_CONSOLE"));
  EXPECT_FALSE(c.builtin("VIRTIO_CONSOLE"));
  EXPECT_FALSE(c.enabled("NUMA"));
  EXPECT_FALSE(c.enabled("SCHED_SMT"));
  EXPECT_FALSE(c.enabled("MISSING"));
}

TEST(KernelConfig, CheckWarnsAboutMissingOptions) {
  auto check = check_config(KernelConfig::parse(kSample));
  EXPECT_TRUE(check.ok());
  ASSERT_EQ(check.warnings.size(), 3u);  // VIRTIO_CONSOLE (=m), NUMA, SCHED_SMT
  EXPECT_NE(check.warnings[0].find("CONFIG_VIRTIO_CONSOLE is a module"), std::string::npos)
      << check.warnings[0];
  EXPECT_NE(check.warnings[1].find("CONFIG_NUMA is not set"), std::string::npos);
  EXPECT_NE(check.warnings[2].find("CONFIG_SCHED_SMT is not set"), std::string::npos);
}

TEST(KernelConfig, CompleteConfigHasNoWarnings) {
  auto c = KernelConfig::parse(
      "CONFIG_SCHED_CLASS_EXT=y\nCONFIG_DEBUG_INFO_BTF=y\nCONFIG_CPUSETS=y\n"
      "CONFIG_VIRTIO_CONSOLE=y\nCONFIG_NUMA=y\nCONFIG_SCHED_MC=y\nCONFIG_SCHED_SMT=y\n");
  auto check = check_config(c, Requirements{{"SCHED_CLASS_EXT", "CONFIG_VIRTIO_CONSOLE"}});
  EXPECT_TRUE(check.ok());
  EXPECT_TRUE(check.warnings.empty());
  EXPECT_TRUE(check.status().ok());
}

TEST(KernelConfig, MissingRequiredOptionIsAnError) {
  auto c = KernelConfig::parse("# CONFIG_SCHED_CLASS_EXT is not set\nCONFIG_VIRTIO_CONSOLE=m\n");
  auto check =
      check_config(c, Requirements{{std::string(kSchedExt), "CONFIG_VIRTIO_CONSOLE", "BPF_JIT"}});
  EXPECT_FALSE(check.ok());
  ASSERT_EQ(check.errors.size(), 3u);
  EXPECT_NE(check.errors[0].find("CONFIG_SCHED_CLASS_EXT is not set"), std::string::npos);
  EXPECT_NE(check.errors[0].find("ktstr kernel fetch"), std::string::npos);
  EXPECT_NE(check.errors[1].find("CONFIG_VIRTIO_CONSOLE is a module"), std::string::npos);
  EXPECT_NE(check.errors[2].find("CONFIG_BPF_JIT"), std::string::npos);
  // Required ones are not also warnings.
  for (const auto& w : check.warnings) EXPECT_EQ(w.find("SCHED_CLASS_EXT"), std::string::npos);
  auto st = check.status();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(), check.errors[0]);
  EXPECT_EQ(st.error().code(), Errc::kInvalidArgument);
}

TEST(KernelConfig, EmptyConfig) {
  auto c = KernelConfig::parse("");
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(check_config(c).warnings.size(), 7u);
}

}  // namespace
}  // namespace ktstr::kernel
