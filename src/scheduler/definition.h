// Scheduler definitions: what a scheduler under test is (its binary, the
// arguments it always gets, its optional flags, the ops name it registers
// with sched_ext, the topology and thresholds it is judged with), the
// built-in set (src/scheduler/builtin/*.toml, compiled in) and how a name or
// a path given on the command line becomes a definition.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::scheduler {

// An optional behaviour of a scheduler, switched on by extra arguments.
// Profiles (profiles.h) are the valid combinations of flags.
struct Flag {
  std::string name;               // [a-z0-9_-]+; shown joined with '+'
  std::vector<std::string> args;  // appended to the command line, e.g. {"-f"}
  std::vector<std::string> requires_;  // flags that must be on with this one
  std::vector<std::string> excludes;   // flags that must be off with this one (symmetric)
  std::string description;
  bool operator==(const Flag&) const = default;
};

struct SchedulerDef {
  std::string name;    // [A-Za-z0-9_.-]+, e.g. "scx_simple"
  std::string binary;  // a path (contains '/') or a name to look up (lookup.h)
  std::vector<std::string> default_args;
  std::string default_topology;  // preset name or spec; empty = the caller's default
  std::map<std::string, double> thresholds;  // check knobs (check/thresholds.h), scheduler layer
  std::vector<Flag> flags;
  // What /sys/kernel/sched_ext/root/ops must read once attached (the
  // .name of its struct sched_ext_ops, e.g. "simple"); empty = any.
  std::string ops_name;
  // Option through which the scheduler takes its sched_ext watchdog timeout
  // in ms (ops.timeout_ms), e.g. "--timeout-ms"; empty = it has none. The
  // kernel has no global knob: the scheduler sets it when it loads.
  std::string watchdog_timeout_arg;
  std::string description;  // one line
  bool builtin_eevdf = false;  // the kernel's own scheduler: nothing to load
  bool operator==(const SchedulerDef&) const = default;
};

// The default scheduler: the kernel's EEVDF.
inline constexpr std::string_view kEevdf = "eevdf";
// Most flags a definition may have (profiles are their power set).
inline constexpr size_t kMaxFlags = 10;

// Checks names, one-line description, flags (unique names, requires and
// excludes naming other existing flags, every flag usable in some profile),
// thresholds (check::set_threshold's rules) and default_topology. All
// problems in one message, "; "-joined, each naming the field.
Status validate(const SchedulerDef& def);

// The built-in definitions, parsed once from the embedded TOML files
// (eevdf first, then by name). An error means a broken built-in file.
Result<std::span<const SchedulerDef>> builtin_schedulers();
// A built-in by name, or not_found listing the names.
Result<SchedulerDef> builtin_scheduler(std::string_view name);

// A definition for any binary given by path ("--scheduler ./scx_foo"):
// named after the file, no flags, any ops name.
SchedulerDef adhoc_scheduler(std::string_view path);

// What `--scheduler X` means: a path (contains '/') becomes an ad-hoc
// definition; otherwise a name from `user` (definitions read from files,
// which win) or the built-ins. Unknown names list the known ones.
Result<SchedulerDef> resolve_scheduler(std::string_view name_or_path,
                                       std::span<const SchedulerDef> user = {});

// default_args, then the profile's args (profiles.h), then the watchdog
// option when both watchdog_timeout_ms > 0 and the definition has one.
std::vector<std::string> command_args(const SchedulerDef& def,
                                      const std::vector<std::string>& profile_args,
                                      uint32_t watchdog_timeout_ms = 0);

}  // namespace ktstr::scheduler
