// Sampler: the host thread that reads the guest's scheduler state every
// interval (default 100 ms) while a scenario runs, stamps each sample with
// the wire's step index and how much of the interval the guest was kept off
// the host CPU (vCPU threads' run-queue wait from /proc/<qemu>/task/<tid>/
// schedstat; see host_starvation.h), and keeps the
// timeline. pause()/resume() bracket VM freezes so frozen intervals are
// marked and never judged.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "monitor/guest_kernel.h"
#include "monitor/sample.h"
#include "util/result.h"

namespace ktstr::monitor {

class HostStarvation;  // host_starvation.h

struct SamplerOptions {
  std::chrono::milliseconds interval{100};
  pid_t qemu_pid = 0;               // for /proc/<pid>/task/<tid>/schedstat
  std::vector<pid_t> vcpu_threads;  // QMP query-cpus-fast (one tid for all under TCG)
  std::function<uint32_t()> step;   // current step index (wire sinks)
  size_t max_samples = 36000;       // 1 h at 10 Hz; older ones are dropped, noted
  // Origin of Sample::t_ms; default: when the sampler starts. The runner
  // shares one origin with the freeze coordinator so samples and snapshots
  // line up.
  std::optional<std::chrono::steady_clock::time_point> t0;
};

class Sampler {
 public:
  // Starts the thread; `kernel` must outlive the sampler.
  static Result<std::unique_ptr<Sampler>> start(const GuestKernel& kernel, SamplerOptions options);
  ~Sampler();  // stops and joins
  Sampler(const Sampler&) = delete;
  Sampler& operator=(const Sampler&) = delete;

  // Marks [pause, resume) as frozen: no samples are taken, and the next
  // sample is flagged `paused` and exempt.
  void pause();
  void resume();
  void add_event(std::string what);
  // Stops sampling (idempotent); timeline() is final after it.
  void stop();
  Timeline timeline() const;
  // The newest sample, if any (for snapshots and failure output).
  std::optional<Sample> latest() const;

 private:
  Sampler(const GuestKernel& kernel, SamplerOptions options);
  void run();
  void take_sample(HostStarvation& starvation, uint64_t& pause_changes_seen);
  uint32_t current_step() const;
  uint64_t now_ms() const;

  const GuestKernel& kernel_;
  SamplerOptions opt_;
  mutable std::mutex mu_;  // guards timeline_, dropped_*, and stop_ changes
  std::condition_variable wake_;
  Timeline timeline_;
  uint64_t dropped_samples_ = 0;
  uint64_t dropped_events_ = 0;
  std::chrono::steady_clock::time_point t0_;
  std::atomic<bool> stop_{false};
  std::atomic<int> paused_{0};
  // pause()/resume() calls so far: a sample taken while this changed covers
  // a freeze and is flagged `paused`.
  std::atomic<uint64_t> pause_changes_{0};
  std::mutex stop_mu_;  // serializes stop()
  std::thread thread_;
};

}  // namespace ktstr::monitor
