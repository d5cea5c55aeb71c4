// Host-request ops (snapshot, watch-snapshot, kernel-read, kernel-write),
// `snapshots` and [[assert]] tables: what they parse to, and every error.
#include <gtest/gtest.h>

#include "scenario/toml_parser.h"
#include "util/files.h"

#include "../text_location.h"

namespace ktstr::scenario {
namespace {

const std::string kHead =
    "name = \"t\"\ncategory = \"basic\"\ndescription = \"d\"\n[requires]\nmin_cpus = 2\n"
    "[[backdrop]]\nname = \"a\"\nworkers = 1\n";

std::string with_ops(std::string_view ops) {
  return kHead + "[[step]]\nhold = 0.5\nops = [\n" + std::string(ops) + "\n]\n";
}

using test_text::loc;

std::vector<std::string> errors_of(std::string_view text) {
  auto r = parse_scenario_text(text, "t.toml");
  EXPECT_FALSE(r.ok()) << "parsed although it should fail:\n" << text;
  if (r.ok()) return {};
  return split(r.error().message(), '\n');
}

// Exactly one error, equal to `expected`.
void expect_error(std::string_view text, const std::string& expected) {
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 1u) << testing::PrintToString(errs);
  EXPECT_EQ(errs[0], expected);
}

// Exactly one error, for field `field`, containing `what`.
void expect_field(std::string_view text, const std::string& field, std::string_view what) {
  auto errs = errors_of(text);
  ASSERT_EQ(errs.size(), 1u) << testing::PrintToString(errs);
  EXPECT_NE(errs[0].find("field '" + field + "': "), std::string::npos) << errs[0];
  EXPECT_NE(errs[0].find(what), std::string::npos) << errs[0] << "\nexpected: " << what;
}

Scenario parse_ok(std::string_view text) {
  auto r = parse_scenario_text(text, "t.toml");
  EXPECT_TRUE(r.ok()) << r.error().message();
  return r.ok() ? *r : Scenario{};
}

// ---- ops ---------------------------------------------------------------------

TEST(HostOps, ParseToTheirSpecs) {
  auto s = parse_ok(with_ops(
      "{ op = \"watch-snapshot\", symbol = \"jiffies\" },\n"
      "{ op = \"kernel-read\", target = \"percpu\", symbol = \"runqueues\", field = \"nr_running\", "
      "cpu = 1, width = 4, tag = \"rq1\" },\n"
      "{ op = \"kernel-write\", target = \"task\", pid = 1, field = \"scx.slice\", value = 20000, "
      "tag = \"slice\" },\n"
      "{ op = \"kernel-read\", target = \"kva\", address = 4096, tag = \"k\" },"));
  ASSERT_EQ(s.steps.size(), 1u);
  ASSERT_EQ(s.steps[0].ops.size(), 4u);
  EXPECT_EQ(std::get<ops::WatchSnapshot>(s.steps[0].ops[0]).symbol, "jiffies");
  const auto& rd = std::get<ops::KernelRead>(s.steps[0].ops[1]).spec;
  EXPECT_EQ(rd.access, KernelOpSpec::Access::kRead);
  EXPECT_EQ(rd.target, KernelOpSpec::Target::kPercpu);
  EXPECT_EQ(rd.symbol, "runqueues");
  EXPECT_EQ(rd.field, "nr_running");
  EXPECT_EQ(rd.cpu, 1u);
  EXPECT_EQ(rd.width, 4);
  EXPECT_EQ(rd.tag, "rq1");
  const auto& wr = std::get<ops::KernelWrite>(s.steps[0].ops[2]).spec;
  EXPECT_EQ(wr.access, KernelOpSpec::Access::kWrite);
  EXPECT_EQ(wr.target, KernelOpSpec::Target::kTask);
  EXPECT_EQ(wr.pid, 1u);
  EXPECT_EQ(wr.value, 20000u);
  EXPECT_EQ(wr.width, 8);  // default
  EXPECT_EQ(std::get<ops::KernelRead>(s.steps[0].ops[3]).spec.address, 4096u);
}

TEST(HostOps, KernelOpErrors) {
  std::string t;
  t = with_ops("{ op = \"kernel-read\", symbol = \"x\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].target", "missing; add target = \"symbol\"");
  t = with_ops("{ op = \"kernel-read\", target = \"sym\", symbol = \"x\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].target", "'sym' is not a target; use symbol, kva, percpu or task");
  t = with_ops("{ op = \"kernel-read\", target = \"symbol\", symbol = \"x\" },");
  expect_field(t, "step[0].ops[0].tag", "missing; add tag = ");
  t = with_ops("{ op = \"kernel-read\", target = \"symbol\", symbol = \"x\", tag = \"a b\" },");
  expect_field(t, "step[0].ops[0].tag", "tag 'a b' has a character outside [A-Za-z0-9_.-]");
  t = with_ops("{ op = \"kernel-read\", target = \"symbol\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].symbol", "missing; add symbol = \"nr_cpu_ids\" (target 'symbol' needs it)");
  t = with_ops("{ op = \"kernel-read\", target = \"symbol\", symbol = \"bad sym\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].symbol", "'bad sym' is not a kernel symbol name");
  t = with_ops("{ op = \"kernel-read\", target = \"symbol\", symbol = \"x\", field = \"a..b\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].field", "'a..b' is not a member path");
  t = with_ops("{ op = \"kernel-read\", target = \"symbol\", symbol = \"x\", cpu = 0, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].cpu",
               "is not used by target 'symbol'; it takes symbol and an optional field");
  t = with_ops("{ op = \"kernel-read\", target = \"kva\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].address", "missing; add address = \"0xffffffff82000000\"");
  t = with_ops("{ op = \"kernel-read\", target = \"kva\", address = 0, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].address", "is 0; name a kernel virtual address");
  t = with_ops("{ op = \"kernel-read\", target = \"kva\", address = \"0xfffg\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].address", "'0xfffg' is not a 64-bit unsigned number");
  t = with_ops("{ op = \"kernel-read\", target = \"kva\", address = -4, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].address", "is negative");
  t = with_ops("{ op = \"kernel-read\", target = \"kva\", address = 1.5, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].address", "is a float");
  t = with_ops("{ op = \"kernel-read\", target = \"kva\", address = 4096, symbol = \"x\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].symbol", "is not used by target 'kva'; it takes address");
  t = with_ops("{ op = \"kernel-read\", target = \"percpu\", symbol = \"rq\", field = \"f\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].cpu", "missing; add cpu = 0 (target 'percpu' needs it)");
  t = with_ops("{ op = \"kernel-read\", target = \"percpu\", symbol = \"rq\", cpu = 0, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].field", "missing; add field = \"nr_running\"");
  t = with_ops("{ op = \"kernel-read\", target = \"percpu\", symbol = \"rq\", field = \"f\", cpu = 5, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].cpu", "cpu 5 needs 6 CPUs; add [requires] min_cpus = 6");
  t = with_ops("{ op = \"kernel-read\", target = \"task\", field = \"f\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].pid", "missing; add pid = 1 (target 'task' needs it)");
  t = with_ops("{ op = \"kernel-read\", target = \"task\", field = \"f\", pid = 0, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].pid", "0 is out of range; use 1..4194304");
  t = with_ops("{ op = \"kernel-read\", target = \"task\", field = \"f\", pid = 1, cpu = 0, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].cpu", "is not used by target 'task'; it takes field and pid");
  t = with_ops("{ op = \"kernel-read\", target = \"symbol\", symbol = \"x\", width = 3, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].width", "3 is not a width; use 1, 2, 4 or 8 (bytes)");
  t = with_ops("{ op = \"kernel-read\", target = \"symbol\", symbol = \"x\", value = 1, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].value", "unknown key");
  t = with_ops("{ op = \"kernel-write\", target = \"symbol\", symbol = \"x\", tag = \"a\" },");
  expect_field(t, "step[0].ops[0].value", "missing; add value = 1 (what to write)");
  t = with_ops("{ op = \"kernel-write\", target = \"symbol\", symbol = \"x\", width = 1, value = 256, tag = \"a\" },");
  expect_field(t, "step[0].ops[0].value", "256 does not fit in width = 1 bytes");
}

TEST(HostOps, ErrorsCarryFileLineAndColumn) {
  std::string t = with_ops("{ op = \"kernel-read\", target = \"symbol\", symbol = \"x\", width = 3, tag = \"a\" },");
  expect_error(t, "t.toml:" + loc(t, "3, tag") +
                      ": field 'step[0].ops[0].width': 3 is not a width; use 1, 2, 4 or 8 (bytes)");
}

TEST(HostOps, WatchSnapshotErrors) {
  expect_field(with_ops("{ op = \"watch-snapshot\" },"), "step[0].ops[0].symbol",
               "missing; add symbol = \"scx_watchdog_timeout\"");
  expect_field(with_ops("{ op = \"watch-snapshot\", symbol = \"" + std::string(65, 'a') + "\" },"),
               "step[0].ops[0].symbol", "is not a kernel symbol name of at most 64 characters");
  expect_field(with_ops("{ op = \"watch-snapshot\", symbol = \"a-b\" },"), "step[0].ops[0].symbol",
               "'a-b' is not a kernel symbol name");
  std::string loop = kHead +
                     "[[step]]\nhold = { fraction = 0.5, every_ms = 10 }\n"
                     "ops = [ { op = \"watch-snapshot\", symbol = \"x\" } ]\n";
  expect_field(loop, "step[0].ops[0].op", "'watch-snapshot' cannot repeat");
  // Reads, writes and snapshots may repeat in a loop.
  parse_ok(kHead +
           "[[step]]\nhold = { fraction = 0.5, every_ms = 10 }\n"
           "ops = [ { op = \"snapshot\", name = \"tick\" }, "
           "{ op = \"kernel-read\", target = \"symbol\", symbol = \"x\", tag = \"t\" } ]\n");
}

TEST(HostOps, OpNameTyposSuggest) {
  expect_field(with_ops("{ op = \"kernel-reed\" },"), "step[0].ops[0].op",
               "'kernel-reed' is not an op; did you mean 'kernel-read'?");
}

// ---- snapshots ---------------------------------------------------------------

TEST(PeriodicSnapshots, TopLevel) {
  const std::string head = "name = \"t\"\ncategory = \"basic\"\ndescription = \"d\"\n";
  const std::string bd = "[[backdrop]]\nname = \"a\"\nworkers = 1\n";
  EXPECT_EQ(parse_ok(head + "snapshots = 1000\n" + bd).snapshots, 1000u);
  EXPECT_EQ(parse_ok(head + bd).snapshots, 0u);
  expect_field(head + "snapshots = 1001\n" + bd, "snapshots", "1001 is out of range; use 0..1000");
  expect_field(head + "snapshots = \"3\"\n" + bd, "snapshots", "is a string; write a whole number");
}

// ---- asserts -----------------------------------------------------------------

std::string with_asserts(std::string_view asserts, std::string_view top = "snapshots = 5\n") {
  return "name = \"t\"\ncategory = \"basic\"\ndescription = \"d\"\n" + std::string(top) +
         "[[backdrop]]\nname = \"a\"\nworkers = 1\n"
         "[[step]]\nhold = 0.5\nops = [ { op = \"snapshot\", name = \"before\" }, "
         "{ op = \"watch-snapshot\", symbol = \"jiffies\" } ]\n"
         "[[step]]\nhold = 0.5\nops = [ { op = \"snapshot\", name = \"after\" } ]\n" +
         std::string(asserts);
}

TEST(Asserts, ParseEveryForm) {
  auto s = parse_ok(with_asserts(
      "[[assert]]\nsnapshot = \"after\"\npath = \"global.nr_running\"\nop = \"le\"\nvalue = 4\n"
      "[[assert]]\nsnapshots = [\"before\", \"after\"]\npath = \"x\"\nkind = \"non_decreasing\"\n"
      "[[assert]]\nseries = \"periodic\"\npath = \"x\"\nkind = \"converges\"\nvalue = 3\n"
      "tolerance = 0.5\n"
      "[[assert]]\nsnapshot = \"watch:jiffies#2\"\npath = \"x\"\nop = \"eq\"\nvalue = \"s\"\n"));
  ASSERT_EQ(s.asserts.size(), 4u);
  EXPECT_EQ(s.asserts[0].snapshot, "after");
  EXPECT_EQ(s.asserts[0].op, CompareOp::kLe);
  EXPECT_EQ(s.asserts[0].value, AssertValue(4.0));
  EXPECT_EQ(s.asserts[1].snapshots, (std::vector<std::string>{"before", "after"}));
  EXPECT_EQ(s.asserts[1].kind, AssertKind::kNonDecreasing);
  EXPECT_EQ(s.asserts[2].series, "periodic");
  EXPECT_EQ(s.asserts[2].tolerance, 0.5);
  EXPECT_EQ(s.asserts[3].value, AssertValue(std::string("s")));
}

void expect_assert(std::string_view body, const std::string& field, std::string_view what,
                   std::string_view top = "snapshots = 5\n") {
  expect_field(with_asserts("[[assert]]\n" + std::string(body), top), field, what);
}

TEST(Asserts, KindTypoSuggests) {
  std::string t = with_asserts(
      "[[assert]]\nsnapshot = \"after\"\npath = \"x\"\nop = \"lt\"\nvalue = 1\n"
      "[[assert]]\nseries = \"periodic\"\npath = \"x\"\nkind = \"nondecreasing\"\n");
  expect_error(t, "t.toml:" + loc(t, "\"nondecreasing\"") +
                      ": field 'assert[1].kind': 'nondecreasing' is not a kind; did you mean "
                      "'non_decreasing'? kinds: non_decreasing, non_increasing, rate, steady, "
                      "converges, always, ratio");
}

TEST(Asserts, EveryError) {
  const std::string p = "path = \"x\"\n";
  expect_assert(p + "op = \"lt\"\nvalue = 1\n", "assert[0]", "names no snapshots; add snapshot = ");
  expect_assert("snapshot = \"after\"\nseries = \"periodic\"\n" + p + "op = \"lt\"\nvalue = 1\n",
                "assert[0]", "names its snapshots more than once");
  expect_assert("snapshot = \"aftr\"\n" + p + "op = \"lt\"\nvalue = 1\n", "assert[0].snapshot",
                "no snapshot op is named 'aftr'; did you mean 'after'?");
  expect_assert("snapshot = \"watch:other\"\n" + p + "op = \"lt\"\nvalue = 1\n", "assert[0].snapshot",
                "no snapshot op is named 'watch:other'");
  expect_assert("snapshots = [\"before\", \"before\"]\n" + p + "kind = \"non_decreasing\"\n",
                "assert[0].snapshots", "names 'before' twice");
  expect_assert("snapshots = []\n" + p + "kind = \"non_decreasing\"\n", "assert[0].snapshots",
                "must be a non-empty array of snapshot names");
  expect_assert("snapshots = [\"after\"]\n" + p + "kind = \"non_decreasing\"\n", "assert[0].snapshots",
                "names one snapshot; kind 'non_decreasing' needs at least two");
  expect_assert("series = \"periodc\"\n" + p + "kind = \"steady\"\nband = 1\n", "assert[0].series",
                "'periodc' is not a series; did you mean 'periodic'?");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"steady\"\nband = 1\n", "assert[0].series",
                "the scenario takes no periodic snapshots; add snapshots = 10", "");
  expect_assert("snapshot = \"after\"\nop = \"lt\"\nvalue = 1\n", "assert[0].path", "is missing");
  expect_assert("snapshot = \"after\"\npath = \"a b\"\nop = \"lt\"\nvalue = 1\n", "assert[0].path",
                "'a b' is not a field path");
  expect_assert("snapshot = \"after\"\n" + p, "assert[0]", "says nothing to check");
  expect_assert("snapshot = \"after\"\n" + p + "op = \"less\"\nvalue = 1\n", "assert[0].op",
                "'less' is not a comparison; use one of eq, ne, lt, le, gt, ge");
  expect_assert("snapshot = \"after\"\n" + p + "op = \"lt\"\n", "assert[0].value",
                "is missing; op 'lt' compares against value");
  expect_assert("snapshot = \"after\"\n" + p + "op = \"lt\"\nvalue = \"x\"\n", "assert[0].value",
                "is a string; op 'lt' orders numbers");
  expect_assert("snapshot = \"after\"\n" + p + "op = \"lt\"\nvalue = [1]\n", "assert[0].value",
                "is an array; write a number, true/false or a string");
  expect_assert("snapshot = \"after\"\n" + p + "op = \"lt\"\nvalue = nan\n", "assert[0].value",
                "is not finite");
  expect_assert("snapshots = [\"before\", \"after\"]\n" + p + "op = \"lt\"\nvalue = 1\n",
                "assert[0].op", "compares one snapshot; for several write kind = \"always\"");
  expect_assert("snapshot = \"after\"\n" + p + "op = \"lt\"\nvalue = 1\nband = 2\n", "assert[0].band",
                "is not a parameter of a comparison (it takes op and value)");
  expect_assert("snapshot = \"after\"\n" + p + "kind = \"steady\"\nband = 1\n", "assert[0].kind",
                "'steady' compares several snapshots; use snapshots = ");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"rate\"\n", "assert[0]",
                "kind 'rate' needs min, max or both");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"rate\"\nmin = 2\nmax = 1\n", "assert[0].max",
                "is 1, below min = 2; swap them");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"rate\"\nmin = \"1\"\n", "assert[0].min",
                "is a string; write a number");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"rate\"\nmin = 1\nop = \"lt\"\n", "assert[0].op",
                "is not a parameter of kind 'rate' (it takes min and/or max)");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"steady\"\n", "assert[0].band",
                "is missing; kind 'steady' needs band = N");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"steady\"\nband = -1\n", "assert[0].band",
                "must be a finite number >= 0");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"converges\"\ntolerance = 1\n", "assert[0].value",
                "is missing; kind 'converges' needs value = N");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"converges\"\nvalue = true\ntolerance = 1\n",
                "assert[0].value", "must be a finite number");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"converges\"\nvalue = 1\n", "assert[0].tolerance",
                "is missing; kind 'converges' needs tolerance = N");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"always\"\nvalue = 1\n", "assert[0].op",
                "is missing; kind 'always' needs op");
  expect_assert("series = \"periodic\"\n" + p + "kind = \"always\"\nop = \"gt\"\n", "assert[0].value",
                "is missing; op 'gt' compares against value");
  expect_assert("snapshot = \"after\"\n" + p + "kind = \"ratio\"\nmin = 1\n", "assert[0].path2",
                "is missing; kind 'ratio' divides path by path2");
  expect_assert("snapshot = \"after\"\n" + p + "kind = \"ratio\"\npath2 = \"y\"\n", "assert[0]",
                "kind 'ratio' needs min, max or both");
  expect_assert("snapshot = \"after\"\n" + p + "kind = \"ratio\"\npath2 = \".y\"\nmin = 1\n",
                "assert[0].path2", "'.y' is not a field path");
  expect_assert("snapshot = \"after\"\n" + p + "op = \"lt\"\nvalue = 1\nvalu = 2\n", "assert[0].valu",
                "unknown key; did you mean 'value'?");
}

TEST(Asserts, AllErrorsOfATableAreReportedTogether) {
  auto errs = errors_of(with_asserts(
      "[[assert]]\nseries = \"periodic\"\npath = \"x\"\nkind = \"converges\"\nband = 1\n"));
  ASSERT_EQ(errs.size(), 3u) << testing::PrintToString(errs);  // value, tolerance, band
}

TEST(Asserts, ValidateAssertionsNamesTheField) {
  SnapshotAssertion a;
  a.series = "periodic";
  a.path = "x";
  a.kind = AssertKind::kSteady;
  SnapshotAssertion ok = a;
  ok.band = 1;
  AssertionContext ctx;
  ctx.periodic_snapshots = 3;
  EXPECT_TRUE(validate_assertions(std::vector{ok}, ctx).ok());
  auto st = validate_assertions(std::vector{ok, a}, ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message(),
            "assert[1].band: is missing; kind 'steady' needs band = N (largest max - min)");
  EXPECT_EQ(parse_assert_kind("nondecreasing").error().message(),
            "'nondecreasing' is not a kind; did you mean 'non_decreasing'? kinds: non_decreasing, "
            "non_increasing, rate, steady, converges, always, ratio");
}

}  // namespace
}  // namespace ktstr::scenario
