#include "testapi/host_run.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include "check/thresholds.h"
#include "scheduler/definition.h"
#include "util/subprocess.h"
#include "wire/protocol.h"

namespace ktstr::testapi {

namespace {

using std::chrono::milliseconds;

// The last CRC-valid TEST_RESULT of the run.
Result<scenario::ScenarioRun> test_result_of(const runner::VmRunResult& vm) {
  for (auto it = vm.entries.rbegin(); it != vm.entries.rend(); ++it) {
    if (it->msg_type != static_cast<uint32_t>(wire::MsgType::kTestResult) || !it->crc_ok) continue;
    auto j = nlohmann::json::parse(it->payload.begin(), it->payload.end(), nullptr, false);
    if (j.is_discarded()) return protocol_error("TEST_RESULT from the guest is not valid JSON");
    return scenario::scenario_run_from_json(j);
  }
  return protocol_error("the guest sent no TEST_RESULT");
}

}  // namespace

Result<GuestAgent> GuestAgent::prepare(const std::function<void(std::string_view)>& note) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return io_error("cannot find the running executable (/proc/self/exe)");
  GuestAgent agent;
  agent.path_ = self;
  auto strip = find_program("strip");
  if (!strip.ok()) {
    if (note) note("strip not found: the guest gets this binary with its debug info");
    return agent;
  }
  KTSTR_ASSIGN(auto dir, TempDir::create("ktstr-agent-"));
  auto copy = dir.path() / self.filename();
  auto r = run_command({*strip, "--strip-debug", "-o", copy.string(), self.string()},
                       std::chrono::seconds(120));
  if (!r.ok() || !r->status.success() || ::chmod(copy.c_str(), 0755) != 0) {
    if (note) note("strip --strip-debug failed: the guest gets this binary with its debug info");
    return agent;
  }
  agent.path_ = copy;
  agent.dir_ = std::move(dir);
  return agent;
}

Result<runner::TestOutcome> run_in_vm(const TestCase& test, const HostOptions& options,
                                      const std::filesystem::path& agent) {
  auto t0 = std::chrono::steady_clock::now();
  KTSTR_ASSIGN(auto topology, topo::Topology::parse(test.options.topology),
               test.name + ": topology");
  // The host knows the test only by name and options: judge it as a
  // scenario of that name with the test's thresholds.
  scenario::Scenario named;
  named.name = test.name;
  named.thresholds = test.options.thresholds;
  const runner::SchedulerChoice* sched = options.scheduler ? &*options.scheduler : nullptr;
  KTSTR_ASSIGN(auto thresholds, runner::thresholds_for(named, sched));

  runner::VmRunRequest req;
  req.kernel = options.kernel;
  req.topology = topology;
  req.memory_mb = test.options.memory_mb;
  req.accel = options.accel;
  req.verbose = options.verbose;
  req.agent = agent;
  req.spec.mode = "test";
  req.spec.test = test.name;
  req.spec.topology = topology.to_string();
  if (sched) runner::load_scheduler(req, *sched);
  req.observe.enabled = true;
  req.observe.periodic_snapshots = test.options.snapshots;
  req.observe.workload_ms = uint64_t{test.options.duration_s} * 1000;
  named.asserts = test.options.asserts;
  req.run_timeout = std::chrono::seconds(120 + 3 * test.options.duration_s);
  if (options.verbose)
    req.on_info = [](std::string_view s) {
      std::fprintf(stderr, "ktstr: %.*s\n", static_cast<int>(s.size()), s.data());
    };
  KTSTR_ASSIGN(auto result, runner::run_vm(req), test.name);

  runner::TestOutcome t;
  if (result.outcome != runner::Outcome::kExited) {
    t.scenario = test.name;
    t.verdict = runner::Verdict::kFail;
    t.reason = std::string(runner::to_string(result.outcome)) + ": " + result.reason;
  } else if (auto run = test_result_of(result); !run.ok()) {
    t.scenario = test.name;
    t.verdict = runner::Verdict::kFail;
    t.reason = run.error().message();
  } else {
    t = runner::judge(named, *run, thresholds, result.accel == "tcg", topology.num_cpus());
  }
  t.thresholds = thresholds;
  if (result.observation) {
    runner::judge_observation(named, *result.observation, sched && !sched->is_eevdf(),
                              result.accel == "tcg", t);
    t.observation = std::move(result.observation);
  }
  t.topology = topology.to_string();
  if (sched) t.scheduler = sched->display();
  t.kernel = result.kernel_key;
  t.accel = result.accel;
  t.boot = result.boot_time;
  t.wall = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
  return t;
}

}  // namespace ktstr::testapi
