// The guest agent's life as PID 1, as a library: mount the system
// filesystems, open the wire port, report the kernel's addresses, read the
// run spec, run what it asks, send EXIT and power off. ktstr-guest calls it
// with scenario mode as a hook; a ktstr C++ test binary (testapi) calls it
// with its own "test" mode when the kernel starts it as /init.
#pragma once

#include <functional>
#include <string_view>

#include "guest/report.h"
#include "guest/run_spec.h"
#include "guest/sink.h"
#include "util/result.h"

namespace ktstr::guest {

struct AgentHooks {
  // Runs every mode but "exec" and "shell" ("scenario", "test"); returns the
  // EXIT status. An error ends the run with a CRASH frame naming it. Unset:
  // such modes are that error.
  std::function<Result<int>(const RunSpec&, Reporter&, FrameSink&)> run_mode;
};

// Never returns when this process is PID 1 (every path powers off). Anywhere
// else it refuses with one line on stderr, prefixed by `program`, and
// returns 2: it mounts filesystems and powers the machine off.
int run_agent(const AgentHooks& hooks, std::string_view program = "ktstr-guest");

}  // namespace ktstr::guest
