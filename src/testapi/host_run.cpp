#include "testapi/host_run.h"

#include <sys/stat.h>

#include <chrono>
#include <cstdio>

#include "check/thresholds.h"
#include "scheduler/definition.h"
#include "util/subprocess.h"

namespace ktstr::testapi {

Result<GuestAgent> GuestAgent::prepare(const std::function<void(std::string_view)>& note) {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return io_error("cannot find the running executable (/proc/self/exe)");
  GuestAgent agent;
  agent.path_ = self;
  auto strip = find_program("strip");
  if (!strip.ok()) {
    if (note) note("strip not found: the guest gets this binary with its debug info");
    return agent;
  }
  KTSTR_ASSIGN(auto dir, TempDir::create("ktstr-agent-"));
  auto copy = dir.path() / self.filename();
  auto r = run_command({*strip, "--strip-debug", "-o", copy.string(), self.string()},
                       std::chrono::seconds(120));
  if (!r.ok() || !r->status.success() || ::chmod(copy.c_str(), 0755) != 0) {
    if (note) note("strip --strip-debug failed: the guest gets this binary with its debug info");
    return agent;
  }
  agent.path_ = copy;
  agent.dir_ = std::move(dir);
  return agent;
}

Result<runner::TestOutcome> run_in_vm(const TestCase& test, const HostOptions& options,
                                      const std::filesystem::path& agent) {
  auto t0 = std::chrono::steady_clock::now();
  KTSTR_ASSIGN(auto topology, topo::Topology::parse(test.options.topology),
               test.name + ": topology");
  // The host knows the test only by name and options: judge it as a
  // scenario of that name with the test's thresholds.
  scenario::Scenario named;
  named.name = test.name;
  named.thresholds = test.options.thresholds;
  const runner::SchedulerChoice* sched = options.scheduler ? &*options.scheduler : nullptr;
  KTSTR_ASSIGN(auto thresholds, runner::thresholds_for(named, sched));

  runner::VmRunRequest req;
  req.kernel = options.kernel;
  req.topology = topology;
  req.memory_mb = test.options.memory_mb;
  req.accel = options.accel;
  req.verbose = options.verbose;
  req.agent = agent;
  req.spec.mode = "test";
  req.spec.test = test.name;
  req.spec.topology = topology.to_string();
  if (sched) runner::load_scheduler(req, *sched);
  req.observe.enabled = true;
  req.observe.periodic_snapshots = test.options.snapshots;
  req.observe.workload_ms = uint64_t{test.options.duration_s} * 1000;
  named.asserts = test.options.asserts;
  req.run_timeout = std::chrono::seconds(120 + 3 * test.options.duration_s);
  if (options.verbose)
    req.on_info = [](std::string_view s) {
      std::fprintf(stderr, "ktstr: %.*s\n", static_cast<int>(s.size()), s.data());
    };
  KTSTR_ASSIGN(auto result, runner::run_vm(req), test.name);

  return runner::judge_vm_run(named, std::move(result), thresholds, topology, sched, t0);
}

}  // namespace ktstr::testapi
