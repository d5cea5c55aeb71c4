#include "testapi/guest_mode.h"

#include <chrono>
#include <exception>
#include <functional>

#include "guest/agent.h"
#include "guest/scenario_mode.h"
#include "guest/scheduled_run.h"
#include "testapi/registry.h"
#include "wire/messages.h"

namespace ktstr::testapi {

namespace {

// Whatever the body did, the result names the test the host asked for.
TestResult call_body(const TestCase& t, Context& ctx) {
  try {
    TestResult r = t.fn(ctx);
    r.run.scenario = t.name;
    return r;
  } catch (const std::exception& e) {
    return fail(ctx, std::string("the test body threw: ") + e.what());
  } catch (...) {
    return fail(ctx, "the test body threw a non-std exception");
  }
}

}  // namespace

Result<int> run_test_mode(const guest::RunSpec& spec, guest::Reporter& rep,
                          guest::FrameSink& sink) {
  const TestCase* t = find_test(spec.test);
  if (!t) {
    std::string why = "no test named '" + spec.test + "' in this binary; see its --list";
    rep.console(why);
    scenario::ScenarioRun missing;
    missing.scenario = spec.test;
    missing.errors.push_back(why);
    KTSTR_TRY(guest::send_test_result(sink, missing), "sending TEST_RESULT");
    return 1;
  }
  KTSTR_ASSIGN(auto topology, topo::Topology::parse(spec.topology), "run-spec topology");
  rep.step(wire::LifecyclePhase::kScenarioRunning, t->name);

  // Under the scheduler the run spec names, exactly like scenario mode,
  // host requests included (the channel is stopped before EXIT).
  auto events = guest::wire_events(rep, sink);
  auto channel = guest::HostChannel::start(sink.fd(), sink);
  if (!channel.ok()) rep.console("no host requests in this run: " + channel.error().message());
  auto run = guest::run_with_scheduler(
      spec.scheduler, t->name, rep, sink,
      [&](std::function<bool()> should_stop) -> Result<scenario::ScenarioRun> {
        Context ctx(t->name, t->options, topology, events, std::move(should_stop));
        if (channel.ok()) {
          scenario::EngineConfig hooks;
          guest::attach_host_channel(hooks, **channel,
                                     std::chrono::milliseconds(spec.host_request_timeout_ms));
          ctx.set_host_requests({hooks.snapshot, hooks.watch, hooks.kernel_op});
        }
        return call_body(*t, ctx).run;
      });
  if (channel.ok()) (*channel)->stop();
  if (!run.ok()) {
    rep.console("test could not run: " + run.error().message());
    scenario::ScenarioRun failed;
    failed.scenario = t->name;
    failed.errors.push_back(run.error().message());
    (void)guest::send_test_result(sink, failed);
    return 1;
  }
  run->scenario = t->name;
  rep.step(wire::LifecyclePhase::kScenarioDone, t->name + (run->skipped ? ": skipped" : ": ran"));
  KTSTR_TRY(guest::send_test_result(sink, *run), "sending TEST_RESULT");
  return 0;
}

int run_as_agent(const char* argv0) {
  guest::AgentHooks hooks;
  hooks.run_mode = [](const guest::RunSpec& spec, guest::Reporter& rep,
                      guest::FrameSink& sink) -> Result<int> {
    if (spec.mode == "test") return run_test_mode(spec, rep, sink);
    if (spec.mode == "scenario") return guest::run_scenario_mode(spec, rep, sink);
    return invalid_argument("run spec mode \"" + spec.mode +
                            "\" is not supported by a test binary");
  };
  return guest::run_agent(hooks, argv0 && *argv0 ? argv0 : "ktstr test binary");
}

}  // namespace ktstr::testapi
