// Scheduler definition files: every field read, one or many definitions per
// file, and errors with FILE:LINE:COL and the field path, all at once.
#include <gtest/gtest.h>

#include "scheduler/toml_parser.h"
#include "util/files.h"
#include "util/temp_dir.h"

#include "../text_location.h"

namespace ktstr::scheduler {
namespace {

using test_text::loc;

std::vector<std::string> errors_of(std::string_view text) {
  auto r = parse_schedulers_text(text, "s.toml");
  EXPECT_FALSE(r.ok()) << "parsed although it should fail:\n" << text;
  if (r.ok()) return {};
  return split(r.error().message(), '\n');
}

constexpr std::string_view kFull = R"(name = "scx_x"
description = "an example"
binary = "scx_x"
ops_name = "x"
default_args = ["-v", "--mode", "2"]
default_topology = "tiny-2llc"
watchdog_timeout_arg = "--timeout-ms"

[thresholds]
max_gap_ms = 3000
isolation = true
max_spread_pct = 12.5

[[flag]]
name = "fifo"
args = ["-f"]
description = "FIFO order"

[[flag]]
name = "batch"
args = ["-b", "4"]
requires = ["fifo"]
excludes = []
)";

TEST(SchedulerToml, ReadsEveryField) {
  auto r = parse_schedulers_text(kFull, "s.toml");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 1u);
  const SchedulerDef& d = r->front();
  EXPECT_EQ(d.name, "scx_x");
  EXPECT_EQ(d.description, "an example");
  EXPECT_EQ(d.binary, "scx_x");
  EXPECT_EQ(d.ops_name, "x");
  EXPECT_EQ(d.default_args, (std::vector<std::string>{"-v", "--mode", "2"}));
  EXPECT_EQ(d.default_topology, "tiny-2llc");
  EXPECT_EQ(d.watchdog_timeout_arg, "--timeout-ms");
  EXPECT_EQ(d.thresholds, (std::map<std::string, double>{
                              {"max_gap_ms", 3000}, {"isolation", 1}, {"max_spread_pct", 12.5}}));
  ASSERT_EQ(d.flags.size(), 2u);
  EXPECT_EQ(d.flags[0].name, "fifo");
  EXPECT_EQ(d.flags[0].description, "FIFO order");
  EXPECT_EQ(d.flags[1].args, (std::vector<std::string>{"-b", "4"}));
  EXPECT_EQ(d.flags[1].requires_, std::vector<std::string>{"fifo"});
  EXPECT_FALSE(d.builtin_eevdf);
}

TEST(SchedulerToml, SeveralDefinitionsPerFile) {
  auto r = parse_schedulers_text(R"(
[[scheduler]]
name = "a"
description = "first"
binary = "/opt/a"

[[scheduler]]
name = "eevdf2"
description = "the kernel's own"
builtin_eevdf = true
)",
                                 "s.toml");
  ASSERT_TRUE(r.ok()) << r.error().message();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].binary, "/opt/a");
  EXPECT_TRUE((*r)[1].builtin_eevdf);
}

TEST(SchedulerToml, UnknownKeysWithSuggestion) {
  std::string text = "name = \"a\"\ndescription = \"d\"\nbinary = \"a\"\nops_nmae = \"x\"\n"
                     "[[flag]]\nname = \"f\"\nargs = [\"-f\"]\nrequire = [\"g\"]\n";
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 2u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0], "s.toml:" + loc(text, "ops_nmae") +
                         ": field 'ops_nmae': unknown key; did you mean 'ops_name'? known: name, "
                         "description, binary, builtin_eevdf, ops_name, default_args, "
                         "default_topology, watchdog_timeout_arg, thresholds, flag");
  EXPECT_EQ(errs[1].rfind("s.toml:" + loc(text, "require =") +
                              ": field 'flag[0].require': unknown key; did you mean 'requires'?",
                          0),
            0u)
      << errs[1];
}

TEST(SchedulerToml, WrongTypes) {
  std::string text = "name = 3\ndescription = \"d\"\nbinary = \"a\"\ndefault_args = \"-v\"\n"
                     "builtin_eevdf = \"yes\"\n[[flag]]\nname = \"f\"\nargs = [\"-f\", 2]\n";
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 4u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0], "s.toml:1:8: field 'name': is an integer; write a string");
  EXPECT_EQ(errs[1], "s.toml:4:16: field 'default_args': is a string; write an array of strings, "
                     "e.g. [\"-f\"]");
  EXPECT_EQ(errs[2], "s.toml:5:17: field 'builtin_eevdf': is a string; write true or false");
  EXPECT_EQ(errs[3], "s.toml:8:15: field 'flag[0].args[1]': is an integer; write a string");
}

TEST(SchedulerToml, SemanticProblemsArePlacedAtTheirField) {
  std::string text = R"(name = "a"
description = "d"
binary = "a"
default_topology = "9n"

[thresholds]
max_gap_ms = -4

[[flag]]
name = "fifo"
args = ["-f"]

[[flag]]
name = "batch"
args = ["-b"]
requires = ["fifo", "fast"]
)";
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 3u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0].rfind("s.toml:" + loc(text, "\"9n\"") + ": field 'default_topology': '9n' is "
                          "neither a preset nor a spec",
                          0),
            0u)
      << errs[0];
  EXPECT_EQ(errs[1].rfind("s.toml:" + loc(text, "-4") + ": field 'thresholds.max_gap_ms': ", 0), 0u)
      << errs[1];
  EXPECT_EQ(errs[2], "s.toml:" + loc(text, "\"fast\"") +
                         ": field 'flag[1].requires[1]': unknown flag 'fast'; known: fifo, batch");
}

TEST(SchedulerToml, MissingRequiredKeys) {
  auto errs = errors_of("binary = \"a\"\n");
  ASSERT_EQ(errs.size(), 2u) << testing::PrintToString(errs);
  EXPECT_NE(errs[0].find("field 'name': is missing; add name = \"scx_foo\""), std::string::npos);
  EXPECT_NE(errs[1].find("field 'description': is missing"), std::string::npos);
  auto flag = errors_of("name = \"a\"\ndescription = \"d\"\nbinary = \"a\"\n[[flag]]\nargs = [\"-x\"]\n");
  ASSERT_EQ(flag.size(), 2u) << testing::PrintToString(flag);
  EXPECT_NE(flag[0].find("field 'flag[0]': has no name"), std::string::npos) << flag[0];
}

TEST(SchedulerToml, ManyFileProblems) {
  std::string text = "stray = 1\n[[scheduler]]\nname = \"a\"\ndescription = \"d\"\nbinary = \"a\"\n"
                     "[[scheduler]]\nname = \"a\"\ndescription = \"e\"\nbinary = \"b\"\n";
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 2u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0], "s.toml:1:1: field 'stray': top-level key in a file of [[scheduler]] tables; "
                     "move it into one of them");
  EXPECT_NE(errs[1].find("field 'scheduler[1].name': scheduler 'a' is defined twice"),
            std::string::npos)
      << errs[1];
  auto not_tables = errors_of("scheduler = 5\n");
  ASSERT_EQ(not_tables.size(), 1u);
  EXPECT_NE(not_tables[0].find("write [[scheduler]] tables"), std::string::npos);
}

TEST(SchedulerToml, PrefixesFieldsInMultiDefinitionFiles) {
  std::string text = "[[scheduler]]\nname = \"a\"\ndescription = \"d\"\nbinary = \"a\"\n"
                     "[[scheduler.flag]]\nname = \"x\"\nargs = []\n";
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 1u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0].rfind("s.toml:" + loc(text, "[]") + ": field 'scheduler[0].flag[0].args': is empty",
                          0),
            0u)
      << errs[0];
}

TEST(SchedulerToml, SyntaxError) {
  auto errs = errors_of("name = \"a\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].rfind("s.toml:1:", 0), 0u) << errs[0];
  EXPECT_NE(errs[0].find("fix the TOML syntax"), std::string::npos);
}

TEST(SchedulerToml, ReadsFiles) {
  auto dir = TempDir::create("ktstr-sched-toml-");
  ASSERT_TRUE(dir.ok());
  auto path = dir->path() / "x.toml";
  ASSERT_TRUE(write_file(path, kFull).ok());
  auto r = parse_schedulers_file(path);
  ASSERT_TRUE(r.ok()) << r.error().message();
  EXPECT_EQ(r->front().name, "scx_x");
  auto missing = parse_schedulers_file(dir->path() / "none.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message().find("reading scheduler definitions"), std::string::npos);
}

}  // namespace
}  // namespace ktstr::scheduler
