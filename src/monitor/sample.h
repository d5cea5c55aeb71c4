// What the monitor reads from guest memory at one instant, and the
// timeline of a run (samples + the scenario's stimulus events). Every
// metric is optional: a kernel without the member/symbol, or a read that
// failed (the guest scribbled a pointer), leaves it empty.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ktstr::monitor {

struct CpuSample {
  uint32_t cpu = 0;
  std::optional<uint32_t> nr_running;       // rq.nr_running
  std::optional<uint32_t> scx_nr_running;   // rq.scx.nr_running
  std::optional<uint64_t> rq_clock;         // rq.clock (ns)
  std::optional<uint32_t> local_dsq_depth;  // rq.scx.local_dsq.nr
  std::optional<uint32_t> scx_flags;        // rq.scx.flags
  std::optional<uint64_t> curr_pid;         // rq.curr->pid, 0 = idle
  std::string error;                        // why a read failed, if one did
};

struct GlobalSample {
  // "enabling" | "enabled" | "disabling" | "disabled" (scx_enable_state_var).
  std::optional<std::string> scx_state;
  std::optional<bool> scx_root;  // a sched_ext scheduler is loaded (scx_root != NULL)
  // sched_ext event counters summed over CPUs, by short name
  // ("SELECT_CPU_FALLBACK", "DISPATCH_KEEP_LAST", ...).
  std::map<std::string, int64_t> events;
  std::optional<uint64_t> jiffies;
  std::string error;  // why a global read failed, if one did ("; "-joined)
};

struct Sample {
  uint64_t t_ms = 0;  // host time since the monitor started
  uint32_t step = 0;  // wire step index in force (last STIMULUS)
  // Share of the interval before this sample that the guest did not run on
  // the host (its vCPU threads waited on a host run queue, or the VM was
  // paused); 0..1. Used to exempt intervals from the stall check.
  double host_starved = 0;
  bool paused = false;  // the VM was frozen during the interval
  std::vector<CpuSample> cpus;
  GlobalSample global;
};

struct StimulusEvent {
  uint64_t t_ms = 0;
  uint32_t step = 0;
  std::string what;  // "step 2 began", "scenario start", "snapshot 'x'"
};

struct Timeline {
  uint32_t interval_ms = 100;
  std::vector<Sample> samples;
  std::vector<StimulusEvent> events;
  std::vector<std::string> notes;  // disabled metrics and why
};

nlohmann::json to_json(const CpuSample& s);
nlohmann::json to_json(const Sample& s);
// {"interval_ms", "notes", "events", "samples", "per_cpu": {cpu: {...
// series ...}}}: samples as recorded, plus per-CPU columns for plotting.
nlohmann::json to_json(const Timeline& t);

}  // namespace ktstr::monitor
