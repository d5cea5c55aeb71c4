// The worker side of a fork: set up, say ready, wait for release, run the
// work loop until stopped, send the WorkerReport, _exit. Never returns.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "workload/detail/meter.h"
#include "workload/detail/work.h"
#include "workload/knobs.h"
#include "workload/plan.h"
#include "workload/work_spec.h"

namespace ktstr::workload::detail {

// Handshake on the report pipe, before the JSON report: "R\n" when ready,
// or "E <one-line message>\n" followed by exit(1) when setup failed.
inline constexpr char kReadyLine[] = "R";

struct ChildConfig {
  WorkSpec spec;
  MemPolicy mempolicy;
  std::string io_dir;
  std::string cgroup;
  uint32_t index = 0;  // report index
  WorkerSlot slot;
  uint32_t group_members = 1;
  GroupShared* shared = nullptr;
  ProgressSlot* progress = nullptr;
  int start_fd = -1;  // one byte per worker releases it; EOF without one = exit
  int report_fd = -1;
  int pipe_in = -1, pipe_out = -1;
  bool die_with_parent = true;
  pid_t parent = 0;
};

// Call right after fork() in the child, with SIGUSR1/SIGTERM/SIGINT blocked.
[[noreturn]] void run_child(const ChildConfig& c);

}  // namespace ktstr::workload::detail
