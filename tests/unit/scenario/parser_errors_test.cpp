// Every kind of error a scenario file can have: each reported with
// FILE:LINE:COL and the field path, all of a file's errors at once.
#include <gtest/gtest.h>

#include "scenario/toml_parser.h"
#include "util/files.h"

#include "../text_location.h"

namespace ktstr::scenario {
namespace {

using test_text::loc;

std::vector<std::string> errors_of(std::string_view text) {
  auto r = parse_scenario_text(text, "t.toml");
  EXPECT_FALSE(r.ok()) << "parsed although it should fail:\n" << text;
  if (r.ok()) return {};
  return split(r.error().message(), '\n');
}

// Exactly one error, starting with `prefix` and containing `also`.
void expect_one(std::string_view text, const std::string& prefix, std::string_view also = "") {
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 1u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0].rfind(prefix, 0), 0u) << errs[0] << "\nexpected prefix: " << prefix;
  EXPECT_NE(errs[0].find(also), std::string::npos) << errs[0] << "\nexpected: " << also;
  EXPECT_EQ(errs[0].find('\n'), std::string::npos);
}

// A valid scenario header; tests append a backdrop / steps.
const std::string kHead =
    "name = \"t\"\ncategory = \"basic\"\ndescription = \"d\"\n";

std::string with_cgroup(std::string_view extra) {
  return kHead + "[[backdrop]]\nname = \"a\"\nworkers = 1\n" + std::string(extra);
}

TEST(ParserErrors, UnknownKeysSuggestTheClosest) {
  std::string text = kHead + "duraton_s = 4\n[[backdrop]]\nname = \"a\"\nwrokers = 1\n";
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 3u) << testing::PrintToString(errs);  // + missing workers
  EXPECT_EQ(errs[0], "t.toml:" + loc(text, "duraton_s") +
                         ": field 'duraton_s': unknown key; did you mean 'duration_s'? known keys "
                         "here: name, category, description, duration_s, snapshots, requires, "
                         "thresholds, backdrop, step, assert");
  EXPECT_EQ(errs[1].rfind("t.toml:" + loc(text, "[[backdrop]]") +
                              ": field 'backdrop[0].workers': missing; add workers = 2",
                          0),
            0u)
      << errs[1];
  EXPECT_EQ(errs[2].rfind("t.toml:" + loc(text, "wrokers") +
                              ": field 'backdrop[0].wrokers': unknown key; did you mean 'workers'?",
                          0),
            0u)
      << errs[2];
}

TEST(ParserErrors, UnknownKeysInNestedTables) {
  std::string text = with_cgroup("work = { type = \"mixed\", spin_iter = 3 }\n[requires]\nllcs = 2\n");
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 2u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0].rfind("t.toml:" + loc(text, "spin_iter") +
                              ": field 'backdrop[0].work.spin_iter': unknown key; did you mean "
                              "'spin_iters'?",
                          0),
            0u)
      << errs[0];
  EXPECT_EQ(errs[1].rfind("t.toml:" + loc(text, "llcs") + ": field 'requires.llcs': unknown key",
                          0),
            0u)
      << errs[1];
}

TEST(ParserErrors, WrongTypes) {
  std::string text = kHead + "duration_s = \"4\"\n[[backdrop]]\nname = 3\nworkers = true\n";
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 3u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0], "t.toml:" + loc(text, "\"4\"") +
                         ": field 'duration_s': is a string; write a number from 0.001 to 86400");
  EXPECT_EQ(errs[1], "t.toml:" + loc(text, "3\n") +
                         ": field 'backdrop[0].name': is an integer; write a quoted string");
  EXPECT_EQ(errs[2].rfind("t.toml:" + loc(text, "true") +
                              ": field 'backdrop[0].workers': is a boolean; write a count (2)",
                          0),
            0u)
      << errs[2];
}

TEST(ParserErrors, BadWorkType) {
  std::string text = with_cgroup("work = \"cpu-spinn\"\n");
  expect_one(text,
             "t.toml:" + loc(text, "\"cpu-spinn\"") +
                 ": field 'backdrop[0].work': 'cpu-spinn' is not a work type; use one of cpu-spin,",
             "mutex-contention");
  std::string table = with_cgroup("work = { type = \"spin\" }\n");
  expect_one(table, "t.toml:" + loc(table, "\"spin\"") + ": field 'backdrop[0].work.type': 'spin'");
  std::string notype = with_cgroup("work = { spin_iters = 3 }\n");
  expect_one(notype, "t.toml:" + loc(notype, "{ spin") + ": field 'backdrop[0].work.type': missing");
}

TEST(ParserErrors, BadWorkParameters) {
  std::string text = with_cgroup("work = { type = \"mutex-contention\", contenders = 1 }\n");
  expect_one(text,
             "t.toml:" + loc(text, "1 }") + ": field 'backdrop[0].work.contenders': 1 is out of range",
             "mutex-contention");
  std::string phases = with_cgroup("work = { type = \"cpu-spin\", phases = [ { kind = \"spin\", ms = 1 } ] }\n");
  expect_one(phases, "t.toml:" + loc(phases, "[ {") + ": field 'backdrop[0].work.phases': only applies");
  std::string kind = with_cgroup("work = { type = \"sequence\", phases = [ { kind = \"nap\", ms = 1 } ] }\n");
  expect_one(kind, "t.toml:" + loc(kind, "\"nap\"") +
                       ": field 'backdrop[0].work.phases[0].kind': unknown phase kind");
  std::string neg = with_cgroup("work = { type = \"mixed\", spin_iters = -1 }\n");
  expect_one(neg, "t.toml:" + loc(neg, "-1") + ": field 'backdrop[0].work.spin_iters': -1 is out of range");
}

TEST(ParserErrors, BadCpusetSpec) {
  std::string text = with_cgroup("cpuset = \"llc:x\"\n");
  expect_one(text, "t.toml:" + loc(text, "\"llc:x\"") + ": field 'backdrop[0].cpuset': cpuset 'llc:x'");
  std::string kind = with_cgroup("cpuset = \"socket:1\"\n");
  expect_one(kind, "t.toml:" + loc(kind, "\"socket") + ": field 'backdrop[0].cpuset':",
             "use llc:K, numa:K");
}

TEST(ParserErrors, PoliciesAndNice) {
  for (const char* p : {"fifo:0", "fifo:100", "rr:0"}) {
    std::string text = with_cgroup(std::string("policy = \"") + p + "\"\n");
    expect_one(text, "t.toml:" + loc(text, "\"" + std::string(p)) + ": field 'backdrop[0].policy': '" + p +
                         "' needs a real-time priority from 1 to 99");
  }
  std::string nice = with_cgroup("nice = 25\n");
  expect_one(nice, "t.toml:" + loc(nice, "25") +
                       ": field 'backdrop[0].nice': 25 is out of range; use -20..19");
  std::string aff = with_cgroup("affinity = \"pinned\"\n");
  expect_one(aff, "t.toml:" + loc(aff, "\"pinned\"") + ": field 'backdrop[0].affinity': 'pinned' is not an affinity mode");
  std::string mem = with_cgroup("mempolicy = \"bind\"\n");
  expect_one(mem, "t.toml:" + loc(mem, "\"bind\"") + ": field 'backdrop[0].mempolicy':");
}

TEST(ParserErrors, BadHolds) {
  std::string over = with_cgroup("[[step]]\nhold = { fraction = 1.5 }\n");
  expect_one(over, "t.toml:" + loc(over, "1.5") +
                       ": field 'step[0].hold.fraction': 1.5 is out of range; use 0.000001 to 1");
  std::string none = with_cgroup("[[step]]\nops = []\n");
  expect_one(none, "t.toml:" + loc(none, "[[step]]") + ": field 'step[0].hold': missing; add hold = ");
  std::string both = with_cgroup("[[step]]\nhold = { fraction = 0.5, duration_ms = 5 }\n");
  expect_one(both, "t.toml:" + loc(both, "{ fraction") + ": field 'step[0].hold': sets both");
  std::string neither = with_cgroup("[[step]]\nhold = { every_ms = 5 }\n");
  expect_one(neither, "t.toml:" + loc(neither, "{ every") + ": field 'step[0].hold': sets neither");
  std::string type = with_cgroup("[[step]]\nhold = \"half\"\n");
  expect_one(type, "t.toml:" + loc(type, "\"half\"") + ": field 'step[0].hold': is a string");
  std::string sum = with_cgroup("[[step]]\nhold = 0.75\n[[step]]\nhold = 0.5\n");
  expect_one(sum, "t.toml:" + loc(sum, "0.5") + ": field 'step[1].hold': step holds so far add up to 1.25");
  std::string zero = with_cgroup("[[step]]\nhold = { duration_ms = 0 }\n");
  expect_one(zero, "t.toml:" + loc(zero, "0 }") + ": field 'step[0].hold.duration_ms': 0 is out of range");
}

TEST(ParserErrors, UnknownOp) {
  std::string text = with_cgroup("[[step]]\nhold = 1.0\nops = [ { op = \"add-cgrop\" } ]\n");
  expect_one(text, "t.toml:" + loc(text, "\"add-cgrop\"") +
                       ": field 'step[0].ops[0].op': 'add-cgrop' is not an op; did you mean "
                       "'add-cgroup'? ops: add-cgroup, remove-cgroup,");
  std::string noop = with_cgroup("[[step]]\nhold = 1.0\nops = [ { cgroup = \"a\" } ]\n");
  expect_one(noop, "t.toml:" + loc(noop, "{ cgroup") + ": field 'step[0].ops[0].op': missing");
  std::string notable = with_cgroup("[[step]]\nhold = 1.0\nops = [ \"spawn\" ]\n");
  expect_one(notable, "t.toml:" + loc(notable, "\"spawn\"") + ": field 'step[0].ops[0]': is a string");
  std::string extra = with_cgroup(
      "[[step]]\nhold = 1.0\nops = [ { op = \"clear-cpuset\", cgroup = \"a\", cpuset = \"llc:0\" } ]\n");
  expect_one(extra, "t.toml:" + loc(extra, "cpuset = ") +
                        ": field 'step[0].ops[0].cpuset': unknown key; known keys here: op, cgroup");
}

TEST(ParserErrors, MissingNameDescriptionCategory) {
  std::string text = "duration_s = 4\n[[backdrop]]\nname = \"a\"\nworkers = 1\n";
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 3u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0].rfind("t.toml:1:1: field 'name': missing; add name = ", 0), 0u) << errs[0];
  EXPECT_EQ(errs[1].rfind("t.toml:1:1: field 'category': missing; add category = ", 0), 0u);
  EXPECT_EQ(errs[2].rfind("t.toml:1:1: field 'description': missing; add description = ", 0), 0u);

  std::string empty = "name = \"t\"\ncategory = \"basic\"\ndescription = \" \"\n"
                      "[[backdrop]]\nname = \"a\"\nworkers = 1\n";
  expect_one(empty, "t.toml:3:15: field 'description': is empty");
  std::string lines = "name = \"t\"\ncategory = \"basic\"\ndescription = \"a\\nb\"\n"
                      "[[backdrop]]\nname = \"a\"\nworkers = 1\n";
  expect_one(lines, "t.toml:3:15: field 'description': spans several lines");
  std::string cat = "name = \"t\"\ncategory = \"fun\"\ndescription = \"d\"\n"
                    "[[backdrop]]\nname = \"a\"\nworkers = 1\n";
  expect_one(cat, "t.toml:2:12: field 'category': 'fun' is not a category");
  std::string badname = "name = \"a b\"\ncategory = \"basic\"\ndescription = \"d\"\n"
                        "[[backdrop]]\nname = \"a\"\nworkers = 1\n";
  expect_one(badname, "t.toml:1:8: field 'name': scenario name 'a b' has a character outside");
}

TEST(ParserErrors, DuplicateCgroupNames) {
  std::string text = with_cgroup("[[backdrop]]\nname = \"a\"\nworkers = 2\n");
  expect_one(text, "t.toml:" + loc(text, "\"a\"", "workers = 1") +
                       ": field 'backdrop[1].name': cgroup 'a' already exists at this point");
  std::string added = with_cgroup(
      "[[step]]\nhold = 1.0\nops = [ { op = \"add-cgroup\", cgroup = { name = \"a\", workers = 1 } } ]\n");
  expect_one(added, "t.toml:" + loc(added, "\"a\"", "add-cgroup") +
                        ": field 'step[0].ops[0].cgroup.name': cgroup 'a' already exists");
  std::string kids = kHead + "[[backdrop]]\nname = \"p\"\nchildren = [ { name = \"c\", workers = 1 }, "
                             "{ name = \"c\", workers = 1 } ]\n";
  expect_one(kids, "t.toml:" + loc(kids, "\"c\"", "}, ") +
                       ": field 'backdrop[0].children[1].name': cgroup 'p/c' already exists");
}

TEST(ParserErrors, ReferencesToUnknownCgroupsAndPayloads) {
  std::string text = with_cgroup(
      "[[step]]\nhold = 0.5\nops = [ { op = \"add-cgroup\", cgroup = { name = \"late\", workers = 1 } } ]\n"
      "[[step]]\nhold = 0.5\nops = [\n"
      "  { op = \"set-cpuset\", cgroup = \"b\", cpuset = \"llc:0\" },\n"
      "  { op = \"swap-cpusets\", a = \"a\", b = \"lat\" },\n"
      "  { op = \"wait-payload\", name = \"bench\", timeout_ms = 5 },\n"
      "  { op = \"remove-cgroup\", cgroup = \"a\" },\n"
      "]\n");
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 4u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0], "t.toml:" + loc(text, "\"b\"") +
                         ": field 'step[1].ops[0].cgroup': cgroup 'b' does not exist at this "
                         "point; add it with [[backdrop]] or add-cgroup first");
  EXPECT_EQ(errs[1], "t.toml:" + loc(text, "\"lat\"") +
                         ": field 'step[1].ops[1].b': cgroup 'lat' does not exist at this point; "
                         "did you mean 'late'?");
  EXPECT_EQ(errs[2].rfind("t.toml:" + loc(text, "\"bench\"") +
                              ": field 'step[1].ops[2].name': payload 'bench' was never started",
                          0),
            0u)
      << errs[2];
  EXPECT_EQ(errs[3].rfind("t.toml:" + loc(text, "\"a\"", "remove-cgroup") +
                              ": field 'step[1].ops[3].cgroup': cgroup 'a' is part of the backdrop",
                          0),
            0u)
      << errs[3];
}

TEST(ParserErrors, ReferencesFollowTheStepOrder) {
  // A cgroup is referenced before the step that adds it, and after its removal.
  std::string text = with_cgroup(
      "[[step]]\nhold = 0.3\nops = [ { op = \"spawn\", cgroup = \"x\", count = 1 } ]\n"
      "[[step]]\nhold = 0.3\nops = [ { op = \"add-cgroup\", cgroup = { name = \"x\", workers = 1 } } ]\n"
      "[[step]]\nhold = 0.3\nops = [ { op = \"remove-cgroup\", cgroup = \"x\" }, "
      "{ op = \"stop-cgroup\", cgroup = \"x\" } ]\n");
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 2u) << testing::PrintToString(errs);
  EXPECT_NE(errs[0].find("field 'step[0].ops[0].cgroup': cgroup 'x' does not exist"), std::string::npos);
  EXPECT_NE(errs[1].find("field 'step[2].ops[1].cgroup': cgroup 'x' does not exist"), std::string::npos);
}

TEST(ParserErrors, CgroupTreeRules) {
  std::string parent = kHead + "[[backdrop]]\nname = \"p\"\nworkers = 2\nchildren = [ { name = \"c\", workers = 1 } ]\n";
  expect_one(parent, "t.toml:" + loc(parent, "2\n") + ": field 'backdrop[0].workers': a cgroup with children runs no workers");
  std::string spawn = kHead + "[[backdrop]]\nname = \"p\"\nchildren = [ { name = \"c\", workers = 1 } ]\n"
                              "[[step]]\nhold = 1.0\nops = [ { op = \"spawn\", cgroup = \"p\", count = 1 } ]\n";
  expect_one(spawn, "t.toml:" + loc(spawn, "\"p\"", "spawn") + ": field 'step[0].ops[0].cgroup': cgroup 'p' has children");
  std::string slash = kHead + "[[backdrop]]\nname = \"p/c\"\nworkers = 1\n";
  expect_one(slash, "t.toml:" + loc(slash, "\"p/c\"") + ": field 'backdrop[0].name': 'p/c' contains '/'");
  std::string orphan = with_cgroup(
      "[[step]]\nhold = 1.0\nops = [ { op = \"add-cgroup\", cgroup = { name = \"q/c\", workers = 1 } } ]\n");
  expect_one(orphan, "t.toml:" + loc(orphan, "\"q/c\"") + ": field 'step[0].ops[0].cgroup.name': parent cgroup 'q' does not exist");
  std::string busy = with_cgroup(
      "[[step]]\nhold = 1.0\nops = [ { op = \"add-cgroup\", cgroup = { name = \"a/c\", workers = 1 } } ]\n");
  expect_one(busy, "t.toml:" + loc(busy, "\"a/c\"") + ": field 'step[0].ops[0].cgroup.name': parent cgroup 'a' runs workers");
}

TEST(ParserErrors, LoopStepsOnlyRepeatRepeatableOps) {
  std::string text = with_cgroup(
      "[[step]]\nhold = { fraction = 1.0, every_ms = 100 }\n"
      "ops = [ { op = \"add-cgroup\", cgroup = { name = \"x\", workers = 1 } } ]\n");
  expect_one(text, "t.toml:" + loc(text, "\"add-cgroup\"") +
                       ": field 'step[0].ops[0].op': 'add-cgroup' cannot repeat in a step whose hold "
                       "has every_ms");
}

TEST(ParserErrors, TopologyNeedsMustBeDeclared) {
  std::string text = with_cgroup("cpuset = \"llc:1\"\naffinity = \"exact:0-7\"\nmempolicy = \"bind:1\"\n");
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 3u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0], "t.toml:" + loc(text, "\"llc:1\"") +
                         ": field 'backdrop[0].cpuset': cpuset 'llc:1' needs 2 LLCs; add [requires] "
                         "min_llcs = 2 so smaller topologies skip this scenario");
  EXPECT_NE(errs[1].find("field 'backdrop[0].affinity': affinity 'exact:0-7' needs 8 CPUs; add "
                         "[requires] min_cpus = 8"),
            std::string::npos);
  EXPECT_NE(errs[2].find("min_numa_nodes = 2"), std::string::npos);
  // Declared: fine.
  std::string ok = kHead + "[requires]\nmin_llcs = 2\nmin_cpus = 8\nmin_numa_nodes = 2\n" +
                   "[[backdrop]]\nname = \"a\"\nworkers = 1\ncpuset = \"llc:1\"\n"
                   "affinity = \"exact:0-7\"\nmempolicy = \"bind:1\"\n";
  EXPECT_TRUE(parse_scenario_text(ok, "t.toml").ok());
  std::string frac = with_cgroup("cpuset = \"range:0.0-0.25\"\n");
  expect_one(frac, "t.toml:" + loc(frac, "\"range"), "needs 4 CPUs");
}

TEST(ParserErrors, Thresholds) {
  std::string text = with_cgroup("[thresholds]\nmax_gap = 5\nmax_spread_pct = -1\nisolation = \"yes\"\n");
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 3u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0].rfind("t.toml:" + loc(text, "max_gap ") +
                              ": field 'thresholds.max_gap': unknown threshold; did you mean "
                              "'max_gap_ms'? known: starvation,",
                          0),
            0u)
      << errs[0];
  EXPECT_EQ(errs[1], "t.toml:" + loc(text, "-1") +
                         ": field 'thresholds.max_spread_pct': must be a finite number >= 0");
  EXPECT_NE(errs[2].find("field 'thresholds.isolation': is a string"), std::string::npos);
}

TEST(ParserErrors, OpFieldChecks) {
  std::string text = with_cgroup(
      "[[step]]\nhold = 1.0\nops = [\n"
      "  { op = \"spawn\", cgroup = \"a\", count = 0 },\n"
      "  { op = \"swap-cpusets\", a = \"a\", b = \"a\" },\n"
      "  { op = \"run-payload\", name = \"p\", argv = [] },\n"
      "  { op = \"freeze-worker\", cgroup = \"a\", worker = 1, duration_ms = 10 },\n"
      "  { op = \"move-all-tasks\", from = \"a\", to = \"a\" },\n"
      "  { op = \"wait-payload\", name = \"p\" },\n"
      "]\n");
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 6u) << testing::PrintToString(errs);
  EXPECT_NE(errs[0].find("field 'step[0].ops[0].count': is 0"), std::string::npos) << errs[0];
  EXPECT_NE(errs[1].find("field 'step[0].ops[1].b': names the same cgroup as a"), std::string::npos);
  EXPECT_NE(errs[2].find("field 'step[0].ops[2].argv': must be a non-empty array"), std::string::npos);
  EXPECT_NE(errs[3].find("field 'step[0].ops[3].worker': cgroup 'a' has 1 workers"), std::string::npos);
  EXPECT_NE(errs[4].find("field 'step[0].ops[4].to': names the same cgroup as from"), std::string::npos);
  EXPECT_NE(errs[5].find("field 'step[0].ops[5].timeout_ms': missing"), std::string::npos);
}

TEST(ParserErrors, NothingToRun) {
  expect_one(kHead, "t.toml:1:1: field 'backdrop': the scenario runs nothing");
}

TEST(ParserErrors, TomlSyntaxErrorsHaveLineAndColumn) {
  auto errs = errors_of("name = \"t\"\nworkers = [1,\n  x]\n");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].rfind("t.toml:3:3: TOML syntax error: ", 0), 0u) << errs[0];
  EXPECT_NE(errs[0].find("fix the TOML syntax"), std::string::npos);
  auto dup = errors_of("name = \"t\"\nname = \"u\"\n");
  ASSERT_EQ(dup.size(), 1u);
  EXPECT_EQ(dup[0].rfind("t.toml:2:", 0), 0u) << dup[0];
}

TEST(ParserErrors, AllErrorsOfAFileTogetherInFileOrder) {
  std::string text =
      "name = \"t\"\ncategory = \"basic\"\ndescription = \"d\"\nduration_s = 0\n"
      "[[backdrop]]\nname = \"a\"\nworkers = 1\nnice = 25\npolicy = \"fifo:0\"\n"
      "[[backdrop]]\nname = \"b\"\nworkers = 1\nwork = \"nope\"\ncpuset = \"llc\"\n"
      "[[step]]\nhold = 2\nops = [ { op = \"spawn\", cgroup = \"zz\", count = 1 } ]\n";
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 7u) << testing::PrintToString(errs);
  const char* fields[] = {"duration_s", "backdrop[0].nice", "backdrop[0].policy",
                          "backdrop[1].work", "backdrop[1].cpuset", "step[0].hold",
                          "step[0].ops[0].cgroup"};
  for (size_t i = 0; i < 7; ++i) {
    EXPECT_NE(errs[i].find("field '" + std::string(fields[i]) + "'"), std::string::npos)
        << i << ": " << errs[i];
    EXPECT_EQ(errs[i].rfind("t.toml:", 0), 0u);
  }
}

}  // namespace
}  // namespace ktstr::scenario
