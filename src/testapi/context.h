// What a test body gets and returns. The body runs inside the VM (the test
// binary is the guest's /init there): Context says which test, on which
// topology, and carries the wire narration; ktstr::run() executes a scenario
// with the scenario engine and returns the workers' reports, which the host
// judges with the checks (runner::judge) — exactly like `ktstr test`.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "scenario/engine.h"
#include "testapi/builders.h"
#include "testapi/options.h"
#include "topology/topology.h"

namespace ktstr {

// How a run's snapshot / watch-snapshot / kernel-read / kernel-write ops
// reach the host (set by the agent; empty outside a VM: the ops are noted
// and skipped).
struct HostRequests {
  scenario::SnapshotFn snapshot;
  scenario::WatchFn watch;
  scenario::KernelOpFn kernel_op;
};

class Context {
 public:
  // `should_stop` ends runs early (the scheduler under test died); none = never.
  Context(std::string name, TestOptions options, topo::Topology topology,
          scenario::EngineEvents events = {}, std::function<bool()> should_stop = {});

  const std::string& name() const { return name_; }
  const TestOptions& options() const { return options_; }
  const topo::Topology& topology() const { return topology_; }
  const scenario::EngineEvents& events() const { return events_; }
  const std::function<bool()>& should_stop() const { return should_stop_; }
  // One line on the guest console (the host shows it with --verbose).
  void log(std::string_view line) const;
  void set_host_requests(HostRequests host) { host_ = std::move(host); }
  const HostRequests& host_requests() const { return host_; }

 private:
  std::string name_;
  TestOptions options_;
  topo::Topology topology_;
  scenario::EngineEvents events_;
  std::function<bool()> should_stop_;
  HostRequests host_;
};

// The body's answer: what the guest sends as TEST_RESULT. Errors in
// run.errors make the test FAIL; run.skipped makes it a SKIP.
struct TestResult {
  scenario::ScenarioRun run;
};

// Runs a scenario named after the test, lasting TestOptions::duration_s.
TestResult run(Context& ctx, std::vector<CgroupDef> backdrop);
TestResult run(Context& ctx, const Scenario& scenario);
// A full model scenario; an empty name or description is the test's.
TestResult run(Context& ctx, scenario::Scenario model);

TestResult skip(const Context& ctx, std::string reason);
TestResult fail(const Context& ctx, std::string message);

}  // namespace ktstr
