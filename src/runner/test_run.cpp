#include "runner/test_run.h"

#include <string>

#include "cgroup/detect.h"
#include "freeze/assert.h"
#include "scenario/toml_writer.h"
#include "scheduler/lookup.h"
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

// Reads the agent's scheduler block; wrong types count as absent.
std::string str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string lines(const nlohmann::json& j, const char* key, const char* prefix) {
  std::string out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (auto& l : *it)
    if (l.is_string()) out += prefix + l.get<std::string>() + "\n";
  return out;
}

// The scheduler's own last word about why it exited, from its log tail.
std::string exit_message(const nlohmann::json& death) {
  auto it = death.find("log_tail");
  if (it == death.end() || !it->is_array()) return "";
  std::string found;
  for (auto& l : *it) {
    if (!l.is_string()) continue;
    std::string line = l.get<std::string>();
    if (auto m = line.find("msg=\""); m != std::string::npos) {
      auto end = line.rfind('"');
      if (end > m + 5) found = line.substr(m + 5, end - m - 5);
    } else if (line.rfind("EXIT: ", 0) == 0) {
      found = line.substr(6);
    }
  }
  return found;
}

// Scheduler failures come first: a dead scheduler explains everything after.
void judge_scheduler(const nlohmann::json& rep, TestOutcome& t) {
  if (!rep.is_object()) return;
  bool attached = rep.value("attached", false);
  if (!attached) {
    constexpr std::string_view kPrefix = "scheduler did not attach";
    std::string why = str(rep, "attach_error");
    t.verdict = Verdict::kFail;
    t.reason = why.rfind(kPrefix, 0) == 0 ? why : std::string(kPrefix) + ": " + why;
    // Nothing ran, so the checks have nothing to say.
    t.details = "  scheduler log (last lines):\n" + lines(rep, "log_tail", "    | ");
    return;
  }
  auto death = rep.find("death");
  if (death == rep.end() || !death->is_object()) return;
  t.verdict = Verdict::kFail;
  std::string kind = str(*death, "kind"), reason = str(*death, "reason");
  // The kernel names only the exit kind for a scheduler's own exit; the
  // scheduler's message is in its log (libbpf's UEI report: "EXIT: ...",
  // the fixture: msg="...").
  std::string msg = exit_message(*death);
  if (!msg.empty() && reason.find(msg) == std::string::npos) reason += reason.empty() ? msg : " — " + msg;
  t.reason = "scheduler died: " + kind + (reason.empty() ? "" : ": " + reason);
  std::string d = "  " + t.reason + "\n";
  auto dmesg = str(*death, "dmesg_excerpt");
  if (!dmesg.empty()) {
    d += "  kernel log (sched_ext):\n";
    size_t start = 0;
    while (start < dmesg.size()) {
      auto nl = dmesg.find('\n', start);
      d += "    | " + dmesg.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  d += "  scheduler log (last lines):\n" + lines(*death, "log_tail", "    | ");
  auto dump = str(rep, "debug_dump");
  if (!dump.empty()) d += "  sched_ext debug dump:\n" + dump + "\n";
  t.details = d + t.details;
}

}  // namespace

std::string SchedulerChoice::display() const {
  if (profile.flags.empty()) return def.name;
  return def.name + "[" + profile.display_name + "]";
}

Result<SchedulerChoice> choose_scheduler(std::string_view name_or_path,
                                         const std::vector<std::string>& flags) {
  SchedulerChoice c;
  KTSTR_ASSIGN(c.def, scheduler::resolve_scheduler(name_or_path), "--scheduler");
  KTSTR_ASSIGN(c.profile, scheduler::profile_for(c.def, flags), "--flags");
  if (!c.def.builtin_eevdf) {
    KTSTR_ASSIGN(c.binary, scheduler::find_scheduler_binary(c.def), "--scheduler");
  }
  return c;
}

void load_scheduler(VmRunRequest& vm, const SchedulerChoice& sched) {
  if (sched.is_eevdf()) return;
  auto guest_path = "/include/" + sched.binary.filename().string();
  vm.includes.push_back({sched.binary, guest_path, true});
  guest::SchedulerRunSpec& r = vm.spec.scheduler;
  r.binary = guest_path;
  r.args = scheduler::command_args(sched.def, sched.profile.args, sched.watchdog_timeout_ms);
  r.args.insert(r.args.end(), sched.extra_args.begin(), sched.extra_args.end());
  r.ops_name = sched.def.ops_name;
  r.watchdog_timeout_ms = sched.watchdog_timeout_ms;
  r.attach_timeout_ms = sched.attach_timeout_ms;
}

Result<std::vector<SchedulerChoice>> all_profiles(std::string_view name_or_path) {
  KTSTR_ASSIGN(auto base, choose_scheduler(name_or_path, {}));
  std::vector<SchedulerChoice> out;
  for (auto& p : scheduler::profiles(base.def)) {
    SchedulerChoice c = base;
    c.profile = p;
    out.push_back(std::move(c));
  }
  return out;
}

std::string_view to_string(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "PASS";
    case Verdict::kFail: return "FAIL";
    case Verdict::kSkip: return "SKIP";
  }
  return "?";
}

Result<check::Thresholds> thresholds_for(const scenario::Scenario& s, const SchedulerChoice* sched) {
  check::Thresholds t;
  if (sched) {
    KTSTR_ASSIGN(auto layer, check::parse_thresholds(sched->def.thresholds, check::Origin::kScheduler),
                 sched->def.name + ": thresholds");
    t = check::merge(t, layer);
  }
  KTSTR_ASSIGN(auto scen, check::parse_thresholds(s.thresholds, check::Origin::kScenario),
               s.name + ": thresholds");
  return check::merge(t, scen);
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
  judge_scheduler(run.scheduler, t);
  t.scheduler_report = run.scheduler;
  return t;
}

namespace {

std::string cpu_line(const monitor::CpuSample& c) {
  auto n = [](const auto& v) { return v ? std::to_string(*v) : std::string("?"); };
  return "    cpu " + std::to_string(c.cpu) + ": nr_running " + n(c.nr_running) + ", scx " +
         n(c.scx_nr_running) + ", local dsq " + n(c.local_dsq_depth) + ", curr pid " +
         n(c.curr_pid) + "\n";
}

// What the scheduler looked like last: the newest snapshot (with its maps),
// else the monitor's newest sample.
std::string last_state_text(const Observation& o) {
  if (o.snapshots.empty()) {
    if (o.timeline.samples.empty()) return "";
    const monitor::Sample& s = o.timeline.samples.back();
    std::string out = "  last monitor sample (step " + std::to_string(s.step) + ", " +
                      std::to_string(s.t_ms) + " ms):\n";
    for (auto& c : s.cpus) out += cpu_line(c);
    return out;
  }
  const freeze::Snapshot& snap = o.snapshots.back();
  std::string out = "  last snapshot '" + snap.name + "' (step " + std::to_string(snap.step) + ", " +
                    std::to_string(snap.t_ms) + " ms):\n";
  for (auto& c : snap.sched.cpus) out += cpu_line(c);
  for (auto& m : snap.maps) {
    std::string v = m.value.is_null() ? "(" + m.note + ")" : m.value.dump();
    if (v.size() > 300) v = v.substr(0, 300) + "...";
    out += "    map " + m.name + ": " + v + "\n";
  }
  return out;
}

void fail_with(TestOutcome& t, const std::string& reason) {
  if (t.verdict == Verdict::kPass) {
    t.verdict = Verdict::kFail;
    t.reason = reason;
  }
}

}  // namespace

void judge_observation(const scenario::Scenario& s, const Observation& o, bool sched_ext,
                       bool emulated, TestOutcome& t) {
  if (t.verdict == Verdict::kSkip) return;
  std::string details;
  if (sched_ext && o.attached) {
    t.monitor = monitor::evaluate(o.timeline, check::resolve(t.thresholds), emulated);
    if (!t.monitor.passed()) {
      fail_with(t, (t.checks.passed && t.run.errors.empty() ? "passed scenario but " : "") +
                       t.monitor.summary());
      for (auto& f : t.monitor.failures) details += "  " + f.message + "\n";
    }
  }
  for (size_t i = 0; i < s.asserts.size(); ++i) {
    auto r = freeze::evaluate_assertion(s.asserts[i], o.snapshots, i);
    SnapshotAssertionResult out{r.passed, r.message, r.detail};
    if (!out.passed) {
      fail_with(t, "snapshot assertion failed: " + out.message);
      details += "  snapshot assertion failed: " + out.message + "\n";
    }
    t.assertions.push_back(std::move(out));
  }
  if (t.verdict == Verdict::kFail) details += last_state_text(o);
  for (auto& n : o.notes) details += "  monitor note: " + n + "\n";
  t.details = details + t.details;
}

Result<TestOutcome> run_test_in_vm(const scenario::Scenario& s, VmRunRequest vm,
                                   const SchedulerChoice* sched) {
  auto t0 = std::chrono::steady_clock::now();
  KTSTR_ASSIGN(auto thresholds, thresholds_for(s, sched));
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
  vm.observe.periodic_snapshots = s.snapshots;
  vm.observe.workload_ms = s.duration_ms;
  if (sched) load_scheduler(vm, *sched);
  if (!vm.run_timeout.count())
    vm.run_timeout = std::chrono::seconds(120 + 3 * s.duration_ms / 1000);
  KTSTR_ASSIGN(auto result, run_vm(vm), s.name);
  return judge_vm_run(s, std::move(result), thresholds, vm.topology, sched, t0);
}

TestOutcome judge_vm_run(const scenario::Scenario& s, VmRunResult result,
                         const check::Thresholds& thresholds, const topo::Topology& topology,
                         const SchedulerChoice* sched, std::chrono::steady_clock::time_point t0) {
  TestOutcome t;
  if (result.outcome != Outcome::kExited) {
    t.scenario = s.name;
    t.verdict = Verdict::kFail;
    t.reason = std::string(to_string(result.outcome)) + ": " + result.reason;
  } else if (auto run = test_result_of(result); !run.ok()) {
    t.scenario = s.name;
    t.verdict = Verdict::kFail;
    t.reason = run.error().message();
  } else {
    t = judge(s, *run, thresholds, result.accel == "tcg", topology.num_cpus());
  }
  t.thresholds = thresholds;
  if (result.observation) {
    judge_observation(s, *result.observation, sched && !sched->is_eevdf(), result.accel == "tcg", t);
    t.observation = std::move(result.observation);
  }
  t.topology = topology.to_string();
  if (sched) t.scheduler = sched->display();
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
  j["scheduler_report"] = t.scheduler_report;
  if (t.observation) {
    j["monitor"] = to_json(*t.observation);
    j["monitor"]["verdict"] = monitor::to_json(t.monitor);
    nlohmann::json asserts = nlohmann::json::array();
    for (auto& a : t.assertions)
      asserts.push_back({{"passed", a.passed}, {"message", a.message}, {"detail", a.detail}});
    j["assertions"] = asserts;
  }
  return j;
}

}  // namespace ktstr::runner
