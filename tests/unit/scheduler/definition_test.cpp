// The built-in definitions, validation of any definition, resolving
// `--scheduler X`, and the command line a definition produces.
#include <gtest/gtest.h>

#include <map>

#include "scheduler/definition.h"
#include "scheduler/profiles.h"

namespace ktstr::scheduler {
namespace {

SchedulerDef minimal() {
  SchedulerDef d;
  d.name = "scx_t";
  d.binary = "scx_t";
  d.description = "a test scheduler";
  return d;
}

Flag flag(std::string name, std::vector<std::string> args, std::vector<std::string> req = {},
          std::vector<std::string> excl = {}) {
  Flag f;
  f.name = std::move(name);
  f.args = std::move(args);
  f.requires_ = std::move(req);
  f.excludes = std::move(excl);
  return f;
}

std::string problems_of(const SchedulerDef& d) {
  auto s = validate(d);
  EXPECT_FALSE(s.ok()) << "valid although it should not be";
  return s.ok() ? "" : s.error().message();
}

TEST(Builtins, ParseAndValidate) {
  auto all = builtin_schedulers();
  ASSERT_TRUE(all.ok()) << all.error().message();
  ASSERT_FALSE(all->empty());
  EXPECT_EQ(all->front().name, "eevdf");
  EXPECT_TRUE(all->front().builtin_eevdf);
  for (const auto& d : *all) {
    auto s = validate(d);
    EXPECT_TRUE(s.ok()) << d.name << ": " << s.error().message();
    EXPECT_FALSE(profiles(d).empty()) << d.name;
    EXPECT_FALSE(d.description.empty()) << d.name;
  }
}

TEST(Builtins, OpsNamesMatchTheKernelSources) {
  // .name of each SCX_OPS_DEFINE in linux 7.2 tools/sched_ext/*.bpf.c.
  const std::map<std::string, std::string> expected = {
      {"eevdf", ""},           {"scx_simple", "simple"},     {"scx_central", "central"},
      {"scx_flatcg", "flatcg"}, {"scx_userland", "userland"}, {"scx_pair", "pair"},
      {"scx_cpu0", "cpu0"},    {"scx_sdt", "sdt"},           {"scx_qmap", "qmap"},
      {"fixture", "ktstr_fixture"}};
  auto all = builtin_schedulers();
  ASSERT_TRUE(all.ok());
  std::map<std::string, std::string> got;
  for (const auto& d : *all) got[d.name] = d.ops_name;
  EXPECT_EQ(got, expected);
}

TEST(Builtins, SimpleHasFifoAndFixtureTakesTheWatchdog) {
  auto simple = builtin_scheduler("scx_simple");
  ASSERT_TRUE(simple.ok());
  EXPECT_EQ(simple->binary, "scx_simple");
  auto p = profile_for(*simple, std::vector<std::string>{"fifo"});
  ASSERT_TRUE(p.ok()) << p.error().message();
  EXPECT_EQ(p->args, std::vector<std::string>{"-f"});

  auto fx = builtin_scheduler("fixture");
  ASSERT_TRUE(fx.ok());
  EXPECT_EQ(fx->binary, "ktstr_fixture");
  EXPECT_EQ(command_args(*fx, {}, 4000), (std::vector<std::string>{"--timeout-ms", "4000"}));
}

TEST(Builtins, UnknownNameListsThem) {
  auto r = builtin_scheduler("nope");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Errc::kNotFound);
  EXPECT_NE(r.error().message().find("eevdf, fixture, scx_central"), std::string::npos)
      << r.error().message();
}

TEST(Resolve, NamesPathsAndUserDefinitions) {
  auto simple = resolve_scheduler("scx_simple");
  ASSERT_TRUE(simple.ok());
  EXPECT_EQ(simple->ops_name, "simple");

  auto path = resolve_scheduler("./build/scx_mine");
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(path->name, "scx_mine");
  EXPECT_EQ(path->binary, "./build/scx_mine");
  EXPECT_TRUE(path->ops_name.empty());
  EXPECT_TRUE(path->flags.empty());
  EXPECT_TRUE(validate(*path).ok()) << validate(*path).error().message();

  SchedulerDef mine = minimal();
  mine.name = "scx_simple";  // a user file overrides a built-in
  mine.binary = "/opt/scx_simple";
  std::vector<SchedulerDef> user{mine};
  auto over = resolve_scheduler("scx_simple", user);
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->binary, "/opt/scx_simple");
}

TEST(Resolve, UnknownNameSuggestsAndExplainsPaths) {
  auto r = resolve_scheduler("scx_simpel");
  ASSERT_FALSE(r.ok());
  const std::string m = r.error().message();
  EXPECT_NE(m.find("did you mean 'scx_simple'?"), std::string::npos) << m;
  EXPECT_NE(m.find("give a path to a scheduler binary"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  EXPECT_FALSE(resolve_scheduler("").ok());
}

TEST(Adhoc, OddFileNameGetsAFallbackName) {
  auto d = adhoc_scheduler("/tmp/my sched!");
  EXPECT_EQ(d.name, "adhoc");
  EXPECT_EQ(d.binary, "/tmp/my sched!");
}

TEST(CommandArgs, DefaultArgsThenProfileThenWatchdog) {
  SchedulerDef d = minimal();
  d.default_args = {"-v"};
  d.watchdog_timeout_arg = "--timeout-ms";
  EXPECT_EQ(command_args(d, {"-f"}, 2500),
            (std::vector<std::string>{"-v", "-f", "--timeout-ms", "2500"}));
  EXPECT_EQ(command_args(d, {"-f"}, 0), (std::vector<std::string>{"-v", "-f"}));
  d.watchdog_timeout_arg.clear();
  EXPECT_EQ(command_args(d, {}, 2500), (std::vector<std::string>{"-v"}));
}

TEST(Validate, MinimalIsValid) {
  auto s = validate(minimal());
  EXPECT_TRUE(s.ok()) << s.error().message();
}

TEST(Validate, NamesAndDescription) {
  SchedulerDef d = minimal();
  d.name = "bad name";
  d.description = "two\nlines";
  const std::string m = problems_of(d);
  EXPECT_NE(m.find("name: 'bad name' is not a scheduler name"), std::string::npos) << m;
  EXPECT_NE(m.find("description: spans several lines"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
  d = minimal();
  d.description = "";
  EXPECT_NE(problems_of(d).find("description: is empty"), std::string::npos);
}

TEST(Validate, BinaryRules) {
  SchedulerDef d = minimal();
  d.binary = "";
  EXPECT_NE(problems_of(d).find("binary: is missing"), std::string::npos);
  d = minimal();
  d.builtin_eevdf = true;
  d.ops_name = "x";
  const std::string m = problems_of(d);
  EXPECT_NE(m.find("binary: is set for the kernel's own scheduler"), std::string::npos) << m;
  EXPECT_NE(m.find("ops_name: is set for the kernel's own scheduler"), std::string::npos) << m;
}

TEST(Validate, FlagReferences) {
  SchedulerDef d = minimal();
  d.flags = {flag("fifo", {"-f"}, {"fiffo"}), flag("slow", {"-s"}, {"slow"}, {"fifo", "fifo"})};
  const std::string m = problems_of(d);
  EXPECT_NE(m.find("flag[0].requires[0]: unknown flag 'fiffo'; did you mean 'fifo'? known: fifo, slow"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("flag[1].requires[0]: names the flag itself"), std::string::npos) << m;
  EXPECT_NE(m.find("flag[1].excludes[1]: lists 'fifo' twice"), std::string::npos) << m;
}

TEST(Validate, FlagNamesArgsAndDuplicates) {
  SchedulerDef d = minimal();
  d.flags = {flag("Fast", {"-f"}), flag("a", {}), flag("a", {"-a"}), flag("default", {"-d"})};
  const std::string m = problems_of(d);
  EXPECT_NE(m.find("flag[0].name: 'Fast' is not a flag name"), std::string::npos) << m;
  EXPECT_NE(m.find("flag[1].args: is empty"), std::string::npos) << m;
  EXPECT_NE(m.find("flag[2].name: flag 'a' is defined twice"), std::string::npos) << m;
  EXPECT_NE(m.find("flag[3].name: 'default' names the profile without flags"), std::string::npos)
      << m;
}

TEST(Validate, ContradictoryRulesMakeAFlagUnusable) {
  SchedulerDef d = minimal();
  d.flags = {flag("a", {"-a"}, {}, {"b"}), flag("b", {"-b"}, {"a"})};
  EXPECT_NE(problems_of(d).find("flag[1]: flag 'b' can never be used"), std::string::npos);
  d.flags = {flag("a", {"-a"}), flag("b", {"-b"}, {"a"}, {"a"})};
  EXPECT_NE(problems_of(d).find("both requires and excludes 'a'"), std::string::npos);
}

TEST(Validate, TooManyFlags) {
  SchedulerDef d = minimal();
  for (size_t i = 0; i <= kMaxFlags; ++i) d.flags.push_back(flag("f" + std::to_string(i), {"-x"}));
  EXPECT_NE(problems_of(d).find("flag: 11 flags; at most 10"), std::string::npos);
}

TEST(Validate, ThresholdsTopologyOpsAndWatchdog) {
  SchedulerDef d = minimal();
  d.thresholds = {{"max_gap_ms", -1}, {"max_gapms", 5}};
  d.default_topology = "huge-9llc";
  d.ops_name = "has space";
  d.watchdog_timeout_arg = "timeout";
  const std::string m = problems_of(d);
  EXPECT_NE(m.find("thresholds.max_gap_ms: max_gap_ms: -1 is out of range"), std::string::npos) << m;
  EXPECT_NE(m.find("thresholds.max_gapms:"), std::string::npos) << m;
  EXPECT_NE(m.find("default_topology: 'huge-9llc' is neither a preset nor a spec"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("ops_name: 'has space' cannot be a sched_ext ops name"), std::string::npos) << m;
  EXPECT_NE(m.find("watchdog_timeout_arg: 'timeout' is not an option"), std::string::npos) << m;

  d = minimal();
  d.default_topology = "1n2l2c1t";
  d.thresholds = {{"max_gap_ms", 5000}, {"isolation", 1}};
  EXPECT_TRUE(validate(d).ok()) << validate(d).error().message();
}

}  // namespace
}  // namespace ktstr::scheduler
