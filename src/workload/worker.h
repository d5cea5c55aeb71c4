// WorkerSet: the worker processes of one WorkSpec, started in two phases so
// that no work happens outside their cgroup, stopped by signal, each
// returning a WorkerReport.
//
//   spawn():  forks every worker (groups of partners share pipes / a
//             MAP_SHARED page); each sets up, reports ready and blocks on
//             the start pipe. `place(pid)` runs for each worker here.
//   start():  applies affinity, policy and nice to each pid (after
//             placement: attaching to a cpuset cgroup resets affinity),
//             then releases all workers at once. Memory policy is applied
//             by each worker to itself (set_mempolicy is per thread) after
//             release and before it allocates its buffers, so its pages are
//             charged to its cgroup.
//   stop():   SIGUSR1 to all (and SIGCONT to frozen ones); each worker sees
//             the flag within ~10 ms even when blocked on a stopped partner,
//             writes its report JSON to its pipe and exits 0. Stragglers are
//             SIGKILLed after `grace` and get a report with `error` set.
//
// Requirements on the caller: workers are plain fork()s running C++ code
// (no exec), so spawn from a process that is single-threaded at that moment
// (or whose other threads hold no locks the child needs). The thread that
// spawns must outlive the workers when die_with_parent is set
// (PR_SET_PDEATHSIG follows the forking thread). Never reap worker pids with
// waitpid(-1) elsewhere. A WorkerSet is not thread-safe.
//
// Work units per type: spin blocks (cpu-spin, bursty, nice/affinity/policy
// churn), yields, spin+yield rounds (mixed), write+fsync (io-sync),
// exchanges (pipe-io, futex-ping-pong, cache-pipe; `iters` = spin ops each
// side does per exchange), buffer passes (cache-*), rounds (waker, producer),
// wakeups (waiter), compute ops (consumer), phase iterations (sequence),
// fork+wait (fork-exit), pages faulted (page-fault-churn), lock
// acquisitions (mutex-contention).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "util/result.h"
#include "workload/knobs.h"
#include "workload/plan.h"
#include "workload/report.h"
#include "workload/work_spec.h"

namespace ktstr::workload {

struct WorkerOptions {
  std::string cgroup;  // copied into reports
  WorkSpec spec;
  uint32_t count = 1;        // requested; grouped types may change it (plan_workers)
  uint32_t first_index = 0;  // report index of the first worker (several sets per cgroup)

  // CPU lists: empty = leave affinity alone; otherwise worker i gets
  // affinity[i % affinity.size()] (one entry = the same for all).
  std::vector<std::vector<uint32_t>> affinity;
  int nice = 0;         // -20..19, applied to every worker
  Policy policy;        // applied to every worker
  MemPolicy mempolicy;  // applied by every worker to itself

  std::string io_dir = "/tmp";  // where io-sync / sequence io write (an unlinked file)
  // Called in spawn() for each worker, after it is ready and before start():
  // move the pid into its cgroup. Empty = the caller places pids() itself.
  std::function<Status(pid_t)> place;
  bool die_with_parent = true;                     // PR_SET_PDEATHSIG(SIGKILL) in each worker
  std::chrono::milliseconds ready_timeout{10000};  // fork + setup of all workers
};

// Live counters, readable while workers run (from a shared page).
struct WorkerProgress {
  uint64_t iterations = 0;
  uint64_t work_units = 0;
};

class WorkerSet {
 public:
  static Result<WorkerSet> spawn(const WorkerOptions& opts);

  WorkerSet(WorkerSet&&) noexcept;
  WorkerSet& operator=(WorkerSet&&) noexcept;
  WorkerSet(const WorkerSet&) = delete;
  WorkerSet& operator=(const WorkerSet&) = delete;
  ~WorkerSet();  // SIGKILLs and reaps every worker still alive

  size_t size() const;
  std::vector<pid_t> pids() const;
  const WorkerPlan& plan() const;
  const std::vector<std::string>& notes() const;  // from plan_workers
  std::vector<WorkerProgress> progress() const;

  // Applies affinity/policy/nice and releases the workers. Fails (workers
  // still held) if a knob cannot be applied; call at most once.
  Status start();
  bool started() const;

  // Sends the stop signals only (idempotent): call it on every set first so
  // all sets stop together, then stop() each to collect.
  void signal_stop();
  // Signals (unless signal_stop() did), waits up to `grace` for reports,
  // kills stragglers, reaps all. Works before start() too (reports then
  // show 0 iterations). Idempotent.
  Status stop(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  // One report per worker, in worker order; empty before stop().
  const std::vector<WorkerReport>& reports() const;

  // SIGSTOP / SIGCONT one worker (test-only stall injection); stop() thaws.
  Status freeze_worker(size_t i);
  Status thaw_worker(size_t i);

 private:
  struct Impl;
  explicit WorkerSet(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ktstr::workload
