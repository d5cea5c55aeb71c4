// Kernel .config parsing, and the check of the options ktstr relies on
// (sched_ext, BTF, cpusets, virtio console, NUMA/MC/SMT scheduling domains).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::kernel {

class KernelConfig {
 public:
  // Accepts `CONFIG_X=y|m|n|123|"str"` and `# CONFIG_X is not set`;
  // other lines (comments, blanks) are ignored. Names may omit "CONFIG_".
  static KernelConfig parse(std::string_view text);

  // y or m.
  bool enabled(std::string_view name) const;
  // y only: ktstr's guest loads no modules, so =m does not count for it.
  bool builtin(std::string_view name) const;
  // The raw value ("y", "m", "n" for "is not set", "256", or a string
  // without its quotes); nullopt when the option does not appear.
  std::optional<std::string> value(std::string_view name) const;
  size_t size() const { return values_.size(); }

 private:
  std::map<std::string, std::string, std::less<>> values_;  // keyed without "CONFIG_"
};

// Options as they appear in the config, without the CONFIG_ prefix.
inline constexpr std::string_view kSchedExt = "SCHED_CLASS_EXT";
inline constexpr std::string_view kDebugInfoBtf = "DEBUG_INFO_BTF";
inline constexpr std::string_view kCpusets = "CPUSETS";
inline constexpr std::string_view kVirtioConsole = "VIRTIO_CONSOLE";
inline constexpr std::string_view kNuma = "NUMA";
inline constexpr std::string_view kSchedMc = "SCHED_MC";
inline constexpr std::string_view kSchedSmt = "SCHED_SMT";

struct Requirements {
  // Options that must be built in (e.g. kSchedExt when a scheduler will be
  // loaded); a missing one is an error, the rest of the checked set warn.
  std::vector<std::string> required;
};

struct ConfigCheck {
  std::vector<std::string> warnings;  // one line each, with what it breaks
  std::vector<std::string> errors;
  bool ok() const { return errors.empty(); }
  // The first error as a Status (invalid_argument), or ok.
  Status status() const;
};

// Checks the options listed above (plus any required ones).
ConfigCheck check_config(const KernelConfig& config, const Requirements& req = {});

}  // namespace ktstr::kernel
