#include "guest/scenario_mode.h"

#include <time.h>

#include "guest/scheduled_run.h"
#include "scenario/toml_parser.h"
#include "topology/topology.h"
#include "wire/messages.h"

namespace ktstr::guest {

namespace {

uint64_t monotonic_ns() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

scenario::EngineEvents wire_events(Reporter& rep, FrameSink& sink) {
  scenario::EngineEvents ev;
  ev.on_start = [&sink](const std::string& name, uint64_t duration_ms) {
    wire::ScenarioStart m{duration_ms, name.substr(0, wire::kScenarioNameMax)};
    if (auto bytes = wire::encode(m); bytes.ok()) (void)sink.send(wire::MsgType::kScenarioStart, *bytes);
  };
  ev.on_step = [&sink](const scenario::StepEvent& e) {
    wire::Stimulus m{e.step_index, e.op_count, e.cgroup_count, e.worker_count, e.total_iterations,
                     monotonic_ns()};
    (void)sink.send(wire::MsgType::kStimulus, wire::encode(m));
  };
  ev.on_end = [&sink] { (void)sink.send(wire::MsgType::kScenarioEnd, std::string_view()); };
  ev.log = [&rep](std::string_view line) { rep.console(line); };
  return ev;
}

Status send_test_result(FrameSink& sink, const scenario::ScenarioRun& run) {
  return sink.send(wire::MsgType::kTestResult,
                   scenario::to_json(run).dump(-1, ' ', false,
                                               nlohmann::json::error_handler_t::replace));
}

Result<int> run_scenario_mode(const RunSpec& spec, Reporter& rep, FrameSink& sink) {
  KTSTR_ASSIGN(auto scenario, scenario::parse_scenario_text(spec.scenario, "run-spec scenario"));
  KTSTR_ASSIGN(auto topology, topo::Topology::parse(spec.topology), "run-spec topology");
  rep.step(wire::LifecyclePhase::kScenarioRunning, scenario.name);

  auto events = wire_events(rep, sink);
  auto run = run_with_scheduler(spec.scheduler, scenario.name, rep, sink,
                                [&](std::function<bool()> should_stop) {
                                  scenario::EngineConfig cfg;
                                  cfg.topology = topology;
                                  cfg.should_stop = std::move(should_stop);
                                  return scenario::run_scenario(scenario, cfg, events);
                                });
  if (!run.ok()) {
    rep.console("scenario could not run: " + run.error().message());
    scenario::ScenarioRun failed;
    failed.scenario = scenario.name;
    failed.errors.push_back(run.error().message());
    (void)sink.send(wire::MsgType::kTestResult, scenario::to_json(failed).dump());
    return 1;
  }
  rep.step(wire::LifecyclePhase::kScenarioDone,
           scenario.name + (run->skipped ? ": skipped" : ": ran"));
  KTSTR_TRY(send_test_result(sink, *run), "sending TEST_RESULT");
  return 0;
}

}  // namespace ktstr::guest
