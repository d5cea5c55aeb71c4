// The guest's own view of its scheduler state, read through the kernel's
// interfaces (debugfs sched/debug, sysfs sched_ext/state). Only used to
// cross-check what the host's monitor reads out of guest memory: the two
// must agree, or one of them is wrong.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace ktstr::guest {

struct GuestSchedView {
  // rq nr_running per CPU (index = CPU); -1 when the CPU had no entry.
  std::vector<int64_t> nr_running;
  std::optional<std::string> scx_state;  // "enabled", "disabled", ...
  uint64_t monotonic_ns = 0;
  std::vector<std::string> errors;
};

// Per-CPU nr_running from sched/debug text: the first ".nr_running" after
// each "cpu#N" header (later ones belong to the cfs/rt/dl sub-queues).
std::vector<int64_t> parse_sched_debug_nr_running(std::string_view text);

GuestSchedView read_guest_sched_view(const std::filesystem::path& debugfs = "/sys/kernel/debug",
                                     const std::filesystem::path& sysfs = "/sys");

// {"nr_running": [...], "scx_state": "enabled"|null, "monotonic_ns", "errors"}.
nlohmann::json to_json(const GuestSchedView& v);

}  // namespace ktstr::guest
