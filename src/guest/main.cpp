// ktstr-guest: PID 1 inside the ktstr VM. Mounts the system filesystems,
// opens the wire port, reports the kernel's addresses, runs the host's
// command, scenario (or an interactive shell), forwards its output, and
// powers off. The agent itself is guest::run_agent (agent.h); this binary
// adds scenario mode.
#include "guest/agent.h"
#include "guest/scenario_mode.h"

int main() {
  using namespace ktstr::guest;
  AgentHooks hooks;
  hooks.run_mode = [](const RunSpec& spec, Reporter& rep, FrameSink& sink) -> ktstr::Result<int> {
    if (spec.mode == "scenario") return run_scenario_mode(spec, rep, sink);
    return ktstr::invalid_argument("run spec mode \"" + spec.mode +
                                   "\" needs a ktstr C++ test binary as the agent; ktstr-guest "
                                   "runs exec, shell and scenario");
  };
  return run_agent(hooks);
}
