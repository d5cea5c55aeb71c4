#include "guest/run_spec.h"

#include <gtest/gtest.h>

namespace ktstr::guest {
namespace {

TEST(RunSpec, DefaultsRoundTrip) {
  RunSpec spec;
  auto back = parse_run_spec(to_json(spec));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, spec);
  EXPECT_EQ(back->mode, "exec");
  EXPECT_TRUE(back->forward_dmesg);
}

TEST(RunSpec, FullRoundTrip) {
  RunSpec spec;
  spec.mode = "shell";
  spec.command = "echo \"hi\" | tr a-z A-Z; printf '\\t\\n'";
  spec.env = {"A=1", "B=two words", "EMPTY="};
  spec.forward_dmesg = false;
  spec.poweroff_delay_ms = 4294967295u;
  spec.exit_ack_timeout_ms = 0;
  auto back = parse_run_spec(to_json(spec));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, spec);
}

TEST(RunSpec, TestModeRoundTrip) {
  RunSpec spec;
  spec.mode = "test";
  spec.test = "steady_pair";
  spec.topology = "1n2l2c1t";
  auto back = parse_run_spec(to_json(spec));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, spec);
  EXPECT_EQ(back->test, "steady_pair");
  RunSpec other = spec;
  other.test = "cpuset_split";
  EXPECT_FALSE(other == spec);
}

TEST(RunSpec, MissingKeysKeepDefaults) {
  auto spec = parse_run_spec(R"({"command": "true"})");
  ASSERT_TRUE(spec.ok()) << spec.error().message();
  EXPECT_EQ(spec->command, "true");
  EXPECT_EQ(spec->mode, "exec");
  EXPECT_TRUE(spec->env.empty());
  EXPECT_EQ(spec->poweroff_delay_ms, 0u);
  EXPECT_EQ(spec->exit_ack_timeout_ms, 10000u);
}

void expect_error(std::string_view json, std::string_view needle) {
  auto r = parse_run_spec(json);
  ASSERT_FALSE(r.ok()) << "accepted: " << json;
  EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
}

TEST(RunSpec, RejectsBadInput) {
  expect_error("", "not valid JSON");
  expect_error("{\"command\": ", "not valid JSON");
  expect_error("{\"command\": \"\xff\"}", "not valid JSON");
  expect_error("[1, 2]", "must be a JSON object");
  expect_error(R"({"mode": "batch"})", "\"mode\" is \"batch\"");
  expect_error(R"({"mode": 1})", "\"mode\" must be a string");
  expect_error(R"({"command": ["ls"]})", "\"command\" must be a string");
  expect_error(R"({"env": "A=1"})", "\"env\" must be an array");
  expect_error(R"({"env": ["A=1", 2]})", "\"env\" [1] must be");
  expect_error(R"({"env": ["NOVALUE"]})", "\"env\" [0] \"NOVALUE\" is not KEY=VALUE");
  expect_error(R"({"env": ["=x"]})", "is not KEY=VALUE");
  expect_error(R"({"forward_dmesg": "yes"})", "\"forward_dmesg\" must be true or false");
  expect_error(R"({"poweroff_delay_ms": -1})", "\"poweroff_delay_ms\" must be an integer");
  expect_error(R"({"poweroff_delay_ms": 1.5})", "\"poweroff_delay_ms\" must be an integer");
  expect_error(R"({"poweroff_delay_ms": 4294967296})", "\"poweroff_delay_ms\" must be");
  expect_error(R"({"exit_ack_timeout_ms": true})", "\"exit_ack_timeout_ms\" must be");
  expect_error(R"({"test": 1})", "\"test\" must be a string");
  expect_error(R"({"comand": "ls"})", "\"comand\" is not a known key");
  expect_error(R"({"tests": "x"})", "known: mode, command, env, forward_dmesg, poweroff_delay_ms, "
                                    "exit_ack_timeout_ms, scenario, topology, test, scheduler");
}

TEST(RunSpec, SchedulerRoundTripsAndIsStrict) {
  RunSpec spec;
  spec.mode = "scenario";
  spec.scheduler.binary = "/include/scx_simple";
  spec.scheduler.args = {"-f", "--x=1"};
  spec.scheduler.ops_name = "simple";
  spec.scheduler.attach_timeout_ms = 9000;
  spec.scheduler.watchdog_timeout_ms = 3000;
  auto back = parse_run_spec(to_json(spec));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, spec);
  expect_error(R"({"scheduler": []})", "\"scheduler\" must be an object");
  expect_error(R"({"scheduler": {"binray": "x"}})", "\"scheduler.binray\" is not a known key");
  expect_error(R"({"scheduler": {"args": ["a", 1]}})", "\"scheduler.args\" must be an array of strings");
}

}  // namespace
}  // namespace ktstr::guest

namespace ktstr::guest {
namespace {

TEST(RunSpec, HostRequestFieldsRoundTrip) {
  RunSpec spec;
  EXPECT_FALSE(spec.send_kallsyms);
  EXPECT_EQ(spec.host_request_timeout_ms, 30000u);
  spec.send_kallsyms = true;
  spec.host_request_timeout_ms = 1234;
  auto back = parse_run_spec(to_json(spec));
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(*back, spec);
  RunSpec other = spec;
  other.send_kallsyms = false;
  EXPECT_FALSE(other == spec);
  other = spec;
  other.host_request_timeout_ms = 1;
  EXPECT_FALSE(other == spec);
}

TEST(RunSpec, HostRequestFieldsAreTyped) {
  auto a = parse_run_spec(R"({"send_kallsyms": 1})");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message().find("\"send_kallsyms\" must be true or false"), std::string::npos)
      << a.error().message();
  auto b = parse_run_spec(R"({"host_request_timeout_ms": -5})");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message().find("\"host_request_timeout_ms\" must be an integer"),
            std::string::npos)
      << b.error().message();
}

}  // namespace
}  // namespace ktstr::guest
