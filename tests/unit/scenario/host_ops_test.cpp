// Host-request ops through the engine's callbacks (fakes here), and their
// records in ScenarioRun's wire form.
#include "scenario/host_ops.h"

#include <gtest/gtest.h>

namespace ktstr::scenario {
namespace {

KernelOpSpec read_spec(std::string tag) {
  KernelOpSpec k;
  k.symbol = "nr_cpu_ids";
  k.tag = std::move(tag);
  return k;
}

TEST(HostOps, AbsentCallbacksSkip) {
  EngineConfig cfg;
  for (const Op& op : {Op(ops::Snapshot{"s"}), Op(ops::WatchSnapshot{"jiffies"}),
                       Op(ops::KernelRead{read_spec("r")}), Op(ops::KernelWrite{read_spec("w")})}) {
    EXPECT_TRUE(is_host_op(op));
    EXPECT_FALSE(run_host_op(op, cfg, 1).has_value()) << op_name(op);
  }
  EXPECT_FALSE(is_host_op(Op(ops::StopCgroup{"a"})));
  EXPECT_EQ(describe_host_op(Op(ops::KernelRead{read_spec("cpus")})), "kernel-read 'cpus'");
  EXPECT_EQ(describe_host_op(Op(ops::WatchSnapshot{"jiffies"})), "watch-snapshot 'jiffies'");
}

TEST(HostOps, CallbacksAreCalledAndRecorded) {
  EngineConfig cfg;
  std::vector<std::string> calls;
  cfg.snapshot = [&](const std::string& name) -> Result<std::string> {
    calls.push_back("snapshot " + name);
    return std::string("frozen 2 ms");
  };
  cfg.watch = [&](const std::string& symbol) -> Result<std::string> {
    calls.push_back("watch " + symbol);
    return Error(Errc::kFailed, "host refused watch-snapshot 'jiffies' (status 2): no slot");
  };
  cfg.kernel_op = [&](const KernelOpSpec& k) -> Result<uint64_t> {
    calls.push_back("kernel " + k.tag);
    if (k.tag == "slow") return timeout_error("host did not answer kernel-read 'slow' within 5 ms");
    return uint64_t{4};
  };

  auto snap = run_host_op(Op(ops::Snapshot{"after"}), cfg, 2);
  ASSERT_TRUE(snap);
  EXPECT_EQ(*snap, (HostRequest{"snapshot", "after", 2, true, std::nullopt, "frozen 2 ms", ""}));

  auto watch = run_host_op(Op(ops::WatchSnapshot{"jiffies"}), cfg, 1);
  ASSERT_TRUE(watch);
  EXPECT_FALSE(watch->ok);
  EXPECT_EQ(watch->op, "watch-snapshot");
  EXPECT_EQ(watch->error, "host refused watch-snapshot 'jiffies' (status 2): no slot");

  auto read = run_host_op(Op(ops::KernelRead{read_spec("cpus")}), cfg, 3);
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->ok);
  EXPECT_EQ(read->value, 4u);
  EXPECT_EQ(read->tag, "cpus");
  EXPECT_EQ(read->step, 3u);

  auto slow = run_host_op(Op(ops::KernelRead{read_spec("slow")}), cfg, 3);
  ASSERT_TRUE(slow);
  EXPECT_FALSE(slow->ok);
  EXPECT_FALSE(slow->value);
  EXPECT_EQ(slow->error, "host did not answer kernel-read 'slow' within 5 ms");

  KernelOpSpec w = read_spec("poke");
  w.access = KernelOpSpec::Access::kWrite;
  auto write = run_host_op(Op(ops::KernelWrite{w}), cfg, 4);
  ASSERT_TRUE(write);
  EXPECT_TRUE(write->ok);
  EXPECT_EQ(write->op, "kernel-write");
  EXPECT_FALSE(write->value) << "a write reads nothing";

  EXPECT_EQ(calls, (std::vector<std::string>{"snapshot after", "watch jiffies", "kernel cpus",
                                             "kernel slow", "kernel poke"}));
}

TEST(ScenarioRunJson, HostRequestsRoundTrip) {
  ScenarioRun run;
  run.scenario = "s";
  run.host_requests.push_back({"snapshot", "after", 2, true, std::nullopt, "frozen", ""});
  run.host_requests.push_back({"kernel-read", "cpus", 1, true, uint64_t{UINT64_MAX}, "", ""});
  run.host_requests.push_back({"watch-snapshot", "jiffies", 1, false, std::nullopt, "", "refused"});
  run.host_requests_dropped = 7;
  auto j = to_json(run);
  EXPECT_EQ(j["host_requests"][1]["value"], UINT64_MAX);
  EXPECT_FALSE(j["host_requests"][0].contains("value"));
  EXPECT_EQ(j["host_requests"][2]["error"], "refused");
  EXPECT_EQ(j["host_requests_dropped"], 7u);
  auto back = scenario_run_from_json(j);
  ASSERT_TRUE(back.ok()) << back.error().message();
  EXPECT_EQ(back->host_requests, run.host_requests);
  EXPECT_EQ(back->host_requests_dropped, 7u);
}

TEST(ScenarioRunJson, HostRequestsAreCheckedAndBounded) {
  auto bad = nlohmann::json::parse(R"({"host_requests": [{"op": "kernel-read", "value": "x"}]})");
  EXPECT_EQ(scenario_run_from_json(bad).error().code(), Errc::kProtocol);
  auto not_array = nlohmann::json::parse(R"({"host_requests": 5})");
  EXPECT_FALSE(scenario_run_from_json(not_array).ok());
  auto old = nlohmann::json::parse(R"({"scenario": "s"})");  // before host requests existed
  ASSERT_TRUE(scenario_run_from_json(old).ok());
  EXPECT_TRUE(scenario_run_from_json(old)->host_requests.empty());

  nlohmann::json many = {{"host_requests", nlohmann::json::array()}};
  for (size_t i = 0; i < kMaxHostRequests + 3; ++i)
    many["host_requests"].push_back({{"op", "snapshot"}, {"tag", "t"}, {"ok", true}});
  auto r = scenario_run_from_json(many);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->host_requests.size(), kMaxHostRequests);
  EXPECT_EQ(r->host_requests_dropped, 3u);
}

}  // namespace
}  // namespace ktstr::scenario
