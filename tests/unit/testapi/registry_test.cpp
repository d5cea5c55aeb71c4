#include "testapi/registry.h"

#include <gtest/gtest.h>

#include "testapi/ktstr_test.h"

// Registered by the macro exactly as a user writes it.
KTSTR_TEST(macro_registered, {.topology = "1n1l2c1t",
                              .duration_s = 2,
                              .description = "registered by KTSTR_TEST, with a comma",
                              .thresholds = {{"max_gap_ms", 900}}}) {
  return ktstr::skip(ctx, "never run in unit tests");
}

KTSTR_TEST(macro_defaults, {.description = "only a description"}) { return ktstr::fail(ctx, "x"); }

namespace ktstr {
namespace {

TEST(Registry, MacroRegistersNameOptionsAndPlace) {
  const TestCase* t = find_test("macro_registered");
  ASSERT_NE(t, nullptr);
  EXPECT_STREQ(t->options.topology, "1n1l2c1t");
  EXPECT_EQ(t->options.duration_s, 2u);
  EXPECT_STREQ(t->options.description, "registered by KTSTR_TEST, with a comma");
  EXPECT_EQ(t->options.thresholds.at("max_gap_ms"), 900);
  EXPECT_NE(t->file.find("registry_test.cpp"), std::string::npos);
  EXPECT_GT(t->line, 0);
  ASSERT_NE(t->fn, nullptr);

  Context ctx(t->name, t->options, topo::Topology::parse("1n1l2c1t").value());
  auto r = t->fn(ctx);
  EXPECT_TRUE(r.run.skipped);
  EXPECT_EQ(r.run.skip_reason, "never run in unit tests");
  EXPECT_EQ(r.run.scenario, "macro_registered");
}

TEST(Registry, DefaultsAndOrder) {
  const TestCase* t = find_test("macro_defaults");
  ASSERT_NE(t, nullptr);
  EXPECT_STREQ(t->options.topology, "1n2l2c1t");
  EXPECT_EQ(t->options.duration_s, 3u);
  EXPECT_EQ(t->options.memory_mb, 0u);
  EXPECT_TRUE(t->options.thresholds.empty());
  ASSERT_GE(all_tests().size(), 2u);
  EXPECT_EQ(all_tests()[0].name, "macro_registered");
  EXPECT_EQ(all_tests()[1].name, "macro_defaults");
  EXPECT_EQ(find_test("nope"), nullptr);
  EXPECT_TRUE(validate_tests(all_tests()).empty());
}

TestResult body(Context& ctx) { return skip(ctx, ""); }

TestCase make(std::string name, TestOptions o = {.description = "d"}) {
  return TestCase{std::move(name), std::move(o), &body, "f.cpp", 7};
}

void expect_one_error(const std::vector<TestCase>& tests, std::string_view needle) {
  auto errors = validate_tests(tests);
  ASSERT_EQ(errors.size(), 1u) << needle;
  EXPECT_NE(errors[0].find(needle), std::string::npos) << errors[0];
  EXPECT_EQ(errors[0].find('\n'), std::string::npos) << errors[0];
}

TEST(Registry, ValidationNamesEachProblemInOneLine) {
  expect_one_error({make("")}, "f.cpp:7: test '': the name is empty");
  expect_one_error({make("has-dash")}, "test 'has-dash': the name may only use letters");
  expect_one_error({make(std::string(65, 'n'))}, "longer than 64");
  expect_one_error({make("t", {.topology = "1n3c"})}, "test 't': .topology:");
  expect_one_error({make("t", {.topology = nullptr, .description = "d"})}, ".topology is null");
  expect_one_error({make("t", {.duration_s = 0, .description = "d"})}, ".duration_s is 0");
  expect_one_error({make("t", {.duration_s = 3601, .description = "d"})}, "use 1 to 3600");
  expect_one_error({make("t", {.description = ""})}, ".description is empty");
  expect_one_error({make("t", {.description = "two\nlines"})}, "line break");
  const std::string long_text(201, 'd');
  expect_one_error({make("t", {.description = long_text.c_str()})}, "longer than 200");
  expect_one_error({make("t", {.description = "d", .thresholds = {{"max_gapp_ms", 1}}})},
                   ".thresholds:");
  expect_one_error({make("t", {.description = "d", .thresholds = {{"max_gap_ms", -1}}})},
                   ".thresholds:");
  expect_one_error({make("t"), make("u"), make("t")}, "another test has this name");
  auto no_body = make("t");
  no_body.fn = nullptr;
  expect_one_error({no_body}, "has no body");
  EXPECT_TRUE(validate_tests({make("ok_1"), make("OK_2")}).empty());
  EXPECT_EQ(validate_tests({make("a b"), make("c", {.description = ""})}).size(), 2u);
}

}  // namespace
}  // namespace ktstr
