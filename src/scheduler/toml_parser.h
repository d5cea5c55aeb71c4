// Reading scheduler definition files (TOML). Strict like scenario files:
// unknown keys, wrong types and invalid values are errors, all reported at
// once, one per line, as
//   FILE:LINE:COL: field 'flag[1].requires': unknown flag 'fast'; known: fifo
// A file holds one definition (top-level keys) or several ([[scheduler]]):
//
//   name = "scx_simple"
//   description = "global vtime or FIFO queue"
//   binary = "scx_simple"            # or a path; omit with builtin_eevdf = true
//   ops_name = "simple"              # /sys/kernel/sched_ext/root/ops once attached
//   default_args = []
//   default_topology = "tiny-2llc"   # preset or spec
//   watchdog_timeout_arg = ""        # e.g. "--timeout-ms"
//   [thresholds]
//   max_gap_ms = 3000
//   [[flag]]
//   name = "fifo"
//   args = ["-f"]
//   requires = []
//   excludes = []
//   description = "FIFO instead of weighted vtime"
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "scheduler/definition.h"
#include "util/result.h"

namespace ktstr::scheduler {

// `virtual_name` stands for the file name in messages.
Result<std::vector<SchedulerDef>> parse_schedulers_text(std::string_view text,
                                                        std::string_view virtual_name);
Result<std::vector<SchedulerDef>> parse_schedulers_file(const std::filesystem::path& path);

}  // namespace ktstr::scheduler
