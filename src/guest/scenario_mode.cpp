#include "guest/scenario_mode.h"

#include <time.h>

#include "guest/sched_view.h"
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

std::string refusal(const std::string& what, uint32_t status, const std::string& reason) {
  return "host refused " + what + " (status " + std::to_string(status) + ")" +
         (reason.empty() ? "" : ": " + reason);
}

}  // namespace

wire::KernelOpRequest to_wire(const scenario::KernelOpSpec& op) {
  using T = scenario::KernelOpSpec::Target;
  wire::KernelOpRequest req;
  req.op = op.access == scenario::KernelOpSpec::Access::kWrite ? wire::KernelOp::kWrite
                                                               : wire::KernelOp::kRead;
  switch (op.target) {
    case T::kSymbol: req.target = wire::KernelTarget::kSymbol; break;
    case T::kKva: req.target = wire::KernelTarget::kKva; break;
    case T::kPercpu: req.target = wire::KernelTarget::kPercpuField; break;
    case T::kTask: req.target = wire::KernelTarget::kTaskField; break;
  }
  req.width = op.width;
  req.cpu = op.cpu;
  req.pid = op.pid;
  req.address = op.address;
  req.value = op.value;
  req.symbol = op.symbol;
  req.field = op.field;
  req.tag = op.tag;
  return req;
}

void attach_host_channel(scenario::EngineConfig& cfg, HostChannel& channel,
                         std::chrono::milliseconds timeout) {
  auto snapshot = [&channel, timeout](wire::SnapshotKind kind, const std::string& tag,
                                      const char* op) -> Result<std::string> {
    KTSTR_ASSIGN(auto reply, channel.request_snapshot(tag, kind, timeout));
    if (reply.status != 0)
      return Error(Errc::kFailed, refusal(std::string(op) + " '" + tag + "'", reply.status, reply.reason));
    return reply.reason;
  };
  // The guest's own view just before and after the host froze it, so a
  // test can cross-check the host's reading of guest memory.
  cfg.snapshot = [snapshot](const std::string& name) -> Result<std::string> {
    auto before = read_guest_sched_view();
    KTSTR_ASSIGN(auto note, snapshot(wire::SnapshotKind::kCapture, name, "snapshot"));
    auto after = read_guest_sched_view();
    return nlohmann::json{{"host", note}, {"guest_before", to_json(before)}, {"guest_after", to_json(after)}}
        .dump();
  };
  cfg.watch = [snapshot](const std::string& symbol) {
    return snapshot(wire::SnapshotKind::kWatch, symbol, "watch-snapshot");
  };
  cfg.kernel_op = [&channel, timeout](const scenario::KernelOpSpec& op) -> Result<uint64_t> {
    KTSTR_ASSIGN(auto reply, channel.kernel_op(to_wire(op), timeout));
    if (reply.status != 0)
      return Error(Errc::kFailed,
                   refusal(std::string(op.access == scenario::KernelOpSpec::Access::kWrite
                                           ? "kernel-write '"
                                           : "kernel-read '") +
                               op.tag + "'",
                           reply.status, reply.reason));
    return reply.value;
  };
}

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
  // Host replies arrive on the port while the scenario runs; the channel is
  // stopped before this returns, so the agent's EXIT handshake owns the
  // port again (host_channel.h).
  auto channel = HostChannel::start(sink.fd(), sink);
  if (!channel.ok()) rep.console("no host requests in this run: " + channel.error().message());
  auto run = run_with_scheduler(spec.scheduler, scenario.name, rep, sink,
                                [&](std::function<bool()> should_stop) {
                                  scenario::EngineConfig cfg;
                                  cfg.topology = topology;
                                  cfg.should_stop = std::move(should_stop);
                                  if (channel.ok())
                                    attach_host_channel(
                                        cfg, **channel,
                                        std::chrono::milliseconds(spec.host_request_timeout_ms));
                                  return scenario::run_scenario(scenario, cfg, events);
                                });
  if (channel.ok()) (*channel)->stop();
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
