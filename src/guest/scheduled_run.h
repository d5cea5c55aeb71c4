// Runs the scenario engine under the scheduler the run spec names: load it,
// wait until it is attached, let the engine stop early when it dies, unload
// it afterwards, and record all of that in ScenarioRun::scheduler for the
// host to judge. With no scheduler (EEVDF) it just runs the engine.
#pragma once

#include <functional>
#include <string>

#include "guest/report.h"
#include "guest/run_spec.h"
#include "guest/sink.h"
#include "scenario/engine.h"
#include "util/result.h"

namespace ktstr::guest {

// `body` runs the engine with the given should_stop hook.
using EngineBody = std::function<Result<scenario::ScenarioRun>(std::function<bool()> should_stop)>;

// Attach failures are not errors: they come back as a ScenarioRun whose
// scheduler block says why (the host turns it into the verdict).
Result<scenario::ScenarioRun> run_with_scheduler(const SchedulerRunSpec& sched,
                                                 const std::string& scenario_name, Reporter& rep,
                                                 FrameSink& sink, const EngineBody& body);

}  // namespace ktstr::guest
