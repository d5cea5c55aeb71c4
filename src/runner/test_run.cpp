#include "runner/test_run.h"

#include <string>

#include "cgroup/detect.h"
#include "scenario/toml_writer.h"
#include "topology/host.h"
#include "util/interrupt.h"
#include "wire/protocol.h"

namespace ktstr::runner {

namespace {

using std::chrono::milliseconds;

milliseconds since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - t0);
}

// The last CRC-valid TEST_RESULT of a VM run.
Result<scenario::ScenarioRun> test_result_of(const VmRunResult& vm) {
  for (auto it = vm.entries.rbegin(); it != vm.entries.rend(); ++it) {
    if (it->msg_type != static_cast<uint32_t>(wire::MsgType::kTestResult) || !it->crc_ok) continue;
    auto j = nlohmann::json::parse(it->payload.begin(), it->payload.end(), nullptr, false);
    if (j.is_discarded()) return protocol_error("TEST_RESULT from the guest is not valid JSON");
    return scenario::scenario_run_from_json(j);
  }
  return protocol_error("the guest sent no TEST_RESULT");
}

}  // namespace

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "PASS";
    case Verdict::kFail: return "FAIL";
    case Verdict::kSkip: return "SKIP";
  }
  return "?";
}

Result<check::Thresholds> thresholds_for(const scenario::Scenario& s) {
  KTSTR_ASSIGN(auto scen, check::parse_thresholds(s.thresholds, check::Origin::kScenario),
               s.name + ": thresholds");
  return check::merge(check::Thresholds{}, scen);
}

TestOutcome judge(const scenario::Scenario& s, const scenario::ScenarioRun& run,
                  const check::Thresholds& thresholds, bool emulated, uint32_t cpus) {
  TestOutcome t;
  t.scenario = s.name;
  t.thresholds = thresholds;
  t.run = run;
  if (run.skipped) {
    t.verdict = Verdict::kSkip;
    t.reason = run.skip_reason;
    return t;
  }
  check::RunContext ctx;
  ctx.emulated = emulated;
  ctx.cpus = cpus;
  ctx.time_scale = check::default_time_scale(emulated, cpus);
  ctx.duration_ms = run.duration_ms;
  for (auto& c : run.cgroups) {
    if (!c.cpus_allowed.empty())
      if (auto set = topo::CpuSet::parse_list(c.cpus_allowed); set.ok()) ctx.cgroup_cpusets[c.name] = *set;
    if (!c.numa_nodes.empty()) ctx.cgroup_numa_nodes[c.name] = c.numa_nodes;
  }
  t.checks = check::evaluate(run.reports, thresholds, ctx);
  t.details = check::format_details(t.checks);
  t.verdict = t.checks.passed && run.errors.empty() ? Verdict::kPass : Verdict::kFail;
  if (!run.errors.empty()) {
    t.reason = "scenario error: " + run.errors.front() +
               (run.errors.size() > 1 ? " (+" + std::to_string(run.errors.size() - 1) + " more)" : "");
    std::string all;
    for (auto& e : run.errors) all += "  scenario error: " + e + "\n";
    t.details = all + t.details;
  } else if (!t.checks.passed) {
    t.reason = t.checks.summary;
  }
  return t;
}

Result<TestOutcome> run_test_in_vm(const scenario::Scenario& s, VmRunRequest vm) {
  auto t0 = std::chrono::steady_clock::now();
  KTSTR_ASSIGN(auto thresholds, thresholds_for(s));
  // Unmet requirements are a SKIP without booting anything.
  if (auto why = s.requirements.unmet_by(vm.topology)) {
    TestOutcome t;
    t.scenario = s.name;
    t.verdict = Verdict::kSkip;
    t.reason = *why;
    t.topology = vm.topology.to_string();
    return t;
  }
  KTSTR_TRY(scenario::check_topology(s, vm.topology), s.name);
  vm.spec = guest::RunSpec{};
  vm.spec.mode = "scenario";
  vm.spec.scenario = scenario::to_toml(s);
  vm.spec.topology = vm.topology.to_string();
  if (!vm.run_timeout.count())
    vm.run_timeout = std::chrono::seconds(120 + 3 * s.duration_ms / 1000);
  KTSTR_ASSIGN(auto result, run_vm(vm), s.name);

  TestOutcome t;
  if (result.outcome != Outcome::kExited) {
    t.scenario = s.name;
    t.verdict = Verdict::kFail;
    t.reason = std::string(to_string(result.outcome)) + ": " + result.reason;
  } else {
    auto run = test_result_of(result);
    if (!run.ok()) {
      t.scenario = s.name;
      t.verdict = Verdict::kFail;
      t.reason = run.error().message();
    } else {
      t = judge(s, *run, thresholds, result.accel == "tcg", vm.topology.num_cpus());
    }
  }
  t.topology = vm.topology.to_string();
  t.kernel = result.kernel_key;
  t.accel = result.accel;
  t.boot = result.boot_time;
  t.wall = since(t0);
  return t;
}

Result<TestOutcome> run_test_on_host(const scenario::Scenario& s,
                                     const std::filesystem::path& cgroup_mount) {
  auto t0 = std::chrono::steady_clock::now();
  KTSTR_ASSIGN(auto root, cgroup::find_cgroup2_root(cgroup_mount));
  KTSTR_ASSIGN(auto host, topo::read_host_topology());
  auto regular = host.as_regular();
  if (!regular)
    return unavailable("host topology is irregular; scenarios need a regular NnNlNcNt topology");
  KTSTR_ASSIGN(auto thresholds, thresholds_for(s));
  scenario::EngineConfig cfg;
  cfg.topology = *regular;
  cfg.cgroup_mount = root;
  cfg.should_stop = [] { return interrupted(); };
  KTSTR_ASSIGN(auto run, scenario::run_scenario(s, cfg), s.name);
  auto t = judge(s, run, thresholds, false, regular->num_cpus());
  t.topology = regular->to_string();
  t.kernel = "host";
  t.accel = "host";
  t.wall = since(t0);
  return t;
}

nlohmann::json to_json(const TestOutcome& t) {
  nlohmann::json j;
  j["scenario"] = t.scenario;
  j["topology"] = t.topology;
  j["kernel"] = t.kernel;
  j["scheduler"] = t.scheduler;
  j["accel"] = t.accel;
  j["verdict"] = to_string(t.verdict);
  j["reason"] = t.reason;
  j["details"] = t.details;
  j["thresholds"] = check::to_json(t.thresholds);
  j["checks"] = check::to_json(t.checks);
  j["timings"] = {{"wall_ms", t.wall.count()}, {"boot_ms", t.boot.count()},
                  {"scenario_ms", t.run.elapsed_ms}};
  j["run"] = scenario::to_json(t.run);
  return j;
}

}  // namespace ktstr::runner
