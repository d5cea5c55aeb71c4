// The test binary inside the VM: it is the guest agent (guest::run_agent),
// extended with mode "test", which runs one registered test's body and
// sends its result as TEST_RESULT.
#pragma once

#include "guest/report.h"
#include "guest/run_spec.h"
#include "guest/sink.h"
#include "util/result.h"

namespace ktstr::testapi {

// Runs the test named spec.test; 0 when its body ran (pass or fail is the
// host's call), 1 when there is no such test.
Result<int> run_test_mode(const guest::RunSpec& spec, guest::Reporter& rep, guest::FrameSink& sink);

// Never returns when PID 1; returns 2 elsewhere (see guest::run_agent).
int run_as_agent(const char* argv0);

}  // namespace ktstr::testapi
