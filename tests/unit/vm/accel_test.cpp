#include "vm/accel.h"

#include <gtest/gtest.h>

namespace ktstr::vm {
namespace {

TEST(Accel, ParsesTheThreeNames) {
  EXPECT_EQ(*parse_accel("auto"), Accel::kAuto);
  EXPECT_EQ(*parse_accel("kvm"), Accel::kKvm);
  EXPECT_EQ(*parse_accel("tcg"), Accel::kTcg);
  for (auto a : {Accel::kAuto, Accel::kKvm, Accel::kTcg}) EXPECT_EQ(*parse_accel(to_string(a)), a);
}

TEST(Accel, RejectsUnknownNames) {
  for (const char* bad : {"", "KVM", "hvf", "tcg "}) {
    auto r = parse_accel(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
    EXPECT_NE(r.error().message().find("auto, kvm, tcg"), std::string::npos);
  }
}

TEST(Accel, AutoFollowsTheProbe) {
  auto yes = resolve_accel(Accel::kAuto, KvmProbe{true, "works"});
  ASSERT_TRUE(yes.ok());
  EXPECT_EQ(yes->accel, Accel::kKvm);
  auto no = resolve_accel(Accel::kAuto, KvmProbe{false, "cannot open /dev/kvm: denied"});
  ASSERT_TRUE(no.ok());
  EXPECT_EQ(no->accel, Accel::kTcg);
  EXPECT_NE(no->reason.find("cannot open /dev/kvm"), std::string::npos);
}

TEST(Accel, ExplicitKvmFailsWithTheReasonAndAHint) {
  auto r = resolve_accel(Accel::kKvm, KvmProbe{false, "KVM_CREATE_VM failed"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kUnavailable);
  EXPECT_NE(r.error().message().find("KVM_CREATE_VM failed"), std::string::npos);
  EXPECT_NE(r.error().message().find("--accel tcg"), std::string::npos);
  EXPECT_EQ(resolve_accel(Accel::kKvm, KvmProbe{true, "ok"})->accel, Accel::kKvm);
}

TEST(Accel, TcgNeedsNoProbe) {
  EXPECT_EQ(resolve_accel(Accel::kTcg, KvmProbe{false, "x"})->accel, Accel::kTcg);
  EXPECT_EQ(resolve_accel(Accel::kTcg)->accel, Accel::kTcg);
}

TEST(Accel, ProbeOfAMissingDeviceFails) {
  auto p = probe_kvm("/nonexistent/kvm");
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.detail.find("cannot open /nonexistent/kvm"), std::string::npos) << p.detail;
}

TEST(Accel, ProbeOfANonKvmDeviceFailsAtTheApiVersion) {
  auto p = probe_kvm("/dev/null");
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.detail.find("API version"), std::string::npos) << p.detail;
}

TEST(Accel, RealProbeAnswersAndIsCached) {
  // The answer depends on the machine; it must come back with a reason.
  const KvmProbe& a = cached_kvm_probe();
  EXPECT_FALSE(a.detail.empty());
  EXPECT_EQ(&a, &cached_kvm_probe());
  auto choice = resolve_accel(Accel::kAuto);
  ASSERT_TRUE(choice.ok());
  EXPECT_EQ(choice->accel, a.ok ? Accel::kKvm : Accel::kTcg);
}

}  // namespace
}  // namespace ktstr::vm
