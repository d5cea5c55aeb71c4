// Profile expansion: the power set of flags filtered by requires/excludes,
// its order and names, and picking one profile by flag names.
#include <gtest/gtest.h>

#include "scheduler/profiles.h"

namespace ktstr::scheduler {
namespace {

Flag flag(std::string name, std::vector<std::string> args, std::vector<std::string> req = {},
          std::vector<std::string> excl = {}) {
  Flag f;
  f.name = std::move(name);
  f.args = std::move(args);
  f.requires_ = std::move(req);
  f.excludes = std::move(excl);
  return f;
}

SchedulerDef def_with(std::vector<Flag> flags) {
  SchedulerDef d;
  d.name = "scx_t";
  d.binary = "scx_t";
  d.description = "test";
  d.flags = std::move(flags);
  return d;
}

std::vector<std::string> names(const std::vector<Profile>& ps) {
  std::vector<std::string> out;
  for (const auto& p : ps) out.push_back(p.display_name);
  return out;
}

using V = std::vector<std::string>;

TEST(Profiles, NoFlagsIsJustDefault) {
  auto ps = profiles(def_with({}));
  ASSERT_EQ(ps.size(), 1u);
  EXPECT_EQ(ps[0].display_name, "default");
  EXPECT_TRUE(ps[0].flags.empty());
  EXPECT_TRUE(ps[0].args.empty());
}

TEST(Profiles, IndependentFlagsGiveThePowerSetBySizeThenOrder) {
  auto d = def_with({flag("a", {"-a"}), flag("b", {"-b", "1"}), flag("c", {"-c"})});
  auto ps = profiles(d);
  EXPECT_EQ(names(ps), (V{"default", "a", "b", "c", "a+b", "a+c", "b+c", "a+b+c"}));
  EXPECT_EQ(ps[4].flags, (V{"a", "b"}));
  EXPECT_EQ(ps[4].args, (V{"-a", "-b", "1"}));
  EXPECT_EQ(ps[7].args, (V{"-a", "-b", "1", "-c"}));
}

TEST(Profiles, RequiresDropsSetsWithoutTheRequiredFlag) {
  auto d = def_with({flag("a", {"-a"}), flag("b", {"-b"}, {"a"})});
  EXPECT_EQ(names(profiles(d)), (V{"default", "a", "a+b"}));
}

TEST(Profiles, RequiresChainsTransitively) {
  auto d = def_with({flag("a", {"-a"}), flag("b", {"-b"}, {"a"}), flag("c", {"-c"}, {"b"})});
  EXPECT_EQ(names(profiles(d)), (V{"default", "a", "a+b", "a+b+c"}));
}

TEST(Profiles, RequiresSeveralFlags) {
  auto d = def_with({flag("a", {"-a"}), flag("b", {"-b"}), flag("c", {"-c"}, {"a", "b"})});
  EXPECT_EQ(names(profiles(d)), (V{"default", "a", "b", "a+b", "a+b+c"}));
}

TEST(Profiles, ExcludesIsSymmetricWhenDeclaredOnOneSide) {
  auto one_side = def_with({flag("a", {"-a"}, {}, {"b"}), flag("b", {"-b"})});
  auto other_side = def_with({flag("a", {"-a"}), flag("b", {"-b"}, {}, {"a"})});
  EXPECT_EQ(names(profiles(one_side)), (V{"default", "a", "b"}));
  EXPECT_EQ(names(profiles(other_side)), (V{"default", "a", "b"}));
}

TEST(Profiles, RequiresAndExcludesTogether) {
  // c needs a and cannot run with b; b and a are free.
  auto d = def_with({flag("a", {"-a"}), flag("b", {"-b"}), flag("c", {"-c"}, {"a"}, {"b"})});
  EXPECT_EQ(names(profiles(d)), (V{"default", "a", "b", "a+b", "a+c"}));
}

TEST(Profiles, FlagRequiringAnExcludedFlagNeverAppears) {
  // b requires a, but a excludes b: b is unusable (validate() reports it).
  auto d = def_with({flag("a", {"-a"}, {}, {"b"}), flag("b", {"-b"}, {"a"})});
  EXPECT_EQ(names(profiles(d)), (V{"default", "a"}));
}

TEST(Profiles, UnknownRequirementMakesAFlagUnusable) {
  auto d = def_with({flag("a", {"-a"}, {"nope"}), flag("b", {"-b"})});
  EXPECT_EQ(names(profiles(d)), (V{"default", "b"}));
}

TEST(Profiles, TenFlagsGiveAllSubsets) {
  std::vector<Flag> flags;
  for (int i = 0; i < 10; ++i) flags.push_back(flag("f" + std::to_string(i), {"-x"}));
  auto ps = profiles(def_with(flags));
  EXPECT_EQ(ps.size(), 1024u);
  EXPECT_EQ(ps.front().display_name, "default");
  EXPECT_EQ(ps.back().flags.size(), 10u);
}

TEST(Profiles, QmapLikeRules) {
  auto d = def_with({flag("batch", {"-b", "4"}), flag("boost", {"-H"}, {"batch"}),
                     flag("immed", {"-I"}), flag("immed-stress", {"-F", "16"}, {"immed"})});
  EXPECT_EQ(names(profiles(d)),
            (V{"default", "batch", "immed", "batch+boost", "batch+immed", "immed+immed-stress",
               "batch+boost+immed", "batch+immed+immed-stress",
               "batch+boost+immed+immed-stress"}));
}

TEST(ProfileFor, OrderOfNamesDoesNotMatter) {
  auto d = def_with({flag("a", {"-a"}), flag("b", {"-b"})});
  auto p = profile_for(d, V{"b", "a"});
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->display_name, "a+b");
  EXPECT_EQ(p->args, (V{"-a", "-b"}));
}

TEST(ProfileFor, EmptyAndDefaultMeanNoFlags) {
  auto d = def_with({flag("a", {"-a"})});
  for (auto input : {V{}, V{"default"}}) {
    auto p = profile_for(d, input);
    ASSERT_TRUE(p.ok()) << p.error().message();
    EXPECT_EQ(p->display_name, "default");
    EXPECT_TRUE(p->args.empty());
  }
}

TEST(ProfileFor, UnknownFlagListsKnownOnes) {
  auto d = def_with({flag("fifo", {"-f"}), flag("slow", {"-s"})});
  auto p = profile_for(d, V{"fast"});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message(), "scx_t: unknown flag 'fast'; known: fifo, slow");
  auto none = profile_for(def_with({}), V{"x"});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message(), "scx_t: unknown flag 'x'; it has none");
}

TEST(ProfileFor, MissingRequirement) {
  auto d = def_with({flag("a", {"-a"}), flag("b", {"-b"}, {"a"})});
  auto p = profile_for(d, V{"b"});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message(), "scx_t: flag 'b' requires 'a'; add it");
  EXPECT_EQ(p.error().code(), Errc::kInvalidArgument);
}

TEST(ProfileFor, ExcludedPair) {
  auto d = def_with({flag("a", {"-a"}), flag("b", {"-b"}, {}, {"a"})});
  auto p = profile_for(d, V{"a", "b"});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message(), "scx_t: flags 'b' and 'a' exclude each other; pick one");
}

TEST(ProfileFor, RepeatedFlagAndDefaultWithFlags) {
  auto d = def_with({flag("a", {"-a"})});
  auto twice = profile_for(d, V{"a", "a"});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().message(), "scx_t: flag 'a' given twice");
  auto mixed = profile_for(d, V{"default", "a"});
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.error().message().find("'default' means no flags"), std::string::npos);
}

TEST(ProfileFor, EveryExpandedProfileRoundTrips) {
  auto d = def_with({flag("a", {"-a"}), flag("b", {"-b"}, {"a"}), flag("c", {"-c"}, {}, {"a"})});
  for (const auto& p : profiles(d)) {
    auto again = profile_for(d, p.display_name);
    ASSERT_TRUE(again.ok()) << p.display_name << ": " << again.error().message();
    EXPECT_EQ(*again, p);
  }
}

TEST(ProfileFor, TextForms) {
  auto d = def_with({flag("a", {"-a"}), flag("b", {"-b"})});
  for (std::string_view spec : {"a+b", "b,a", " a , b "}) {
    auto p = profile_for(d, spec);
    ASSERT_TRUE(p.ok()) << spec << ": " << p.error().message();
    EXPECT_EQ(p->display_name, "a+b") << spec;
  }
  auto def = profile_for(d, std::string_view(""));
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->display_name, "default");
  auto bad = profile_for(d, std::string_view("a++b"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("empty flag name in 'a++b'"), std::string::npos);
}

}  // namespace
}  // namespace ktstr::scheduler
