// Scenario mode of the agent: runs the run spec's scenario with the
// scenario engine and narrates it on the wire — SCENARIO_START, one
// STIMULUS per step, SCENARIO_END, then TEST_RESULT with the workers'
// reports (the host judges them; see scenario/engine.h for the JSON).
#pragma once

#include <chrono>

#include "guest/host_channel.h"
#include "guest/report.h"
#include "guest/run_spec.h"
#include "guest/sink.h"
#include "scenario/engine.h"
#include "util/result.h"

namespace ktstr::guest {

// Returns the EXIT status: 0 when the scenario ran (pass or fail is the
// host's call), non-zero when it could not run at all.
Result<int> run_scenario_mode(const RunSpec& spec, Reporter& rep, FrameSink& sink);

// The pieces, shared with the C++ test API's "test" mode: the engine's
// events as SCENARIO_START / STIMULUS / SCENARIO_END frames and console
// lines, and the TEST_RESULT frame carrying `run` as JSON.
scenario::EngineEvents wire_events(Reporter& rep, FrameSink& sink);
Status send_test_result(FrameSink& sink, const scenario::ScenarioRun& run);

// Points the engine's host requests (snapshot, watch, kernel_op) at
// `channel`, each waiting up to `timeout`. A reply with status != 0 becomes
// a kFailed error carrying the host's reason. The channel must outlive the
// run and be stopped before the agent's last frame.
void attach_host_channel(scenario::EngineConfig& cfg, HostChannel& channel,
                         std::chrono::milliseconds timeout);
// The wire form of a kernel-read / kernel-write op (request_id left 0).
wire::KernelOpRequest to_wire(const scenario::KernelOpSpec& op);

}  // namespace ktstr::guest
