#include "guest/scheduled_run.h"

#include "guest/scheduler_supervisor.h"
#include "wire/messages.h"

namespace ktstr::guest {

namespace {

// Attach takes ~1.2 s under TCG on an idle host; a loaded 2-core host
// running several VMs needs far more.
constexpr uint32_t kDefaultAttachTimeoutMs = 30000;

nlohmann::json death_json(const DeathInfo& d) {
  return {{"kind", std::string(to_string(d.kind))},
          {"exit_kind", d.exit_kind},
          {"reason", d.reason},
          {"process", d.process ? d.process->describe() : ""},
          {"state", d.state},
          {"dmesg_excerpt", d.dmesg_excerpt},
          {"log_tail", d.log_tail},
          {"after_attach_ms", d.after_attach_ms}};
}

}  // namespace

Result<scenario::ScenarioRun> run_with_scheduler(const SchedulerRunSpec& sched,
                                                 const std::string& scenario_name, Reporter& rep,
                                                 FrameSink& sink, const EngineBody& body) {
  if (sched.binary.empty()) return body([] { return false; });

  SchedulerSupervisor sup;
  SchedulerSpec spec;
  spec.binary = sched.binary;
  spec.args = sched.args;
  spec.ops_name = sched.ops_name;
  spec.attach_timeout_ms = sched.attach_timeout_ms ? sched.attach_timeout_ms : kDefaultAttachTimeoutMs;
  spec.watchdog_timeout_ms = sched.watchdog_timeout_ms;
  rep.step(wire::LifecyclePhase::kSchedulerStart, sched.binary);

  nlohmann::json report = {{"binary", sched.binary}, {"args", sched.args}};
  auto attach = sup.start(spec, sink);
  if (!attach.ok()) {
    rep.console(attach.error().message());
    scenario::ScenarioRun run;
    run.scenario = scenario_name;
    report["attached"] = false;
    report["attach_error"] = attach.error().message();
    report["log_tail"] = sup.log_tail();
    run.scheduler = std::move(report);
    return run;
  }
  rep.step(wire::LifecyclePhase::kSchedulerAttached,
           attach->ops + " attached in " + std::to_string(attach->attach_ms) + " ms");
  report["attached"] = true;
  report["attach_ms"] = attach->attach_ms;
  report["ops"] = attach->ops;
  report["switch_all"] = attach->switch_all;
  report["watchdog"] = attach->watchdog;

  auto run = body([&sup] { return sup.check().has_value(); });
  auto death = sup.check();
  std::string dump = death ? sup.debug_dump() : std::string();
  auto stop = sup.stop();
  if (!run.ok()) return run;
  if (death) {
    rep.console("scheduler died: " + std::string(to_string(death->kind)) + ": " + death->reason);
    report["death"] = death_json(*death);
    report["debug_dump"] = dump;
  }
  report["stop"] = {{"was_running", stop.was_running}, {"killed", stop.killed},
                    {"disabled", stop.disabled},        {"state", stop.state},
                    {"stop_ms", stop.stop_ms}};
  report["log_tail"] = sup.log_tail();
  run->scheduler = std::move(report);
  return run;
}

}  // namespace ktstr::guest
