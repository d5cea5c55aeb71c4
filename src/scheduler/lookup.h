// Finding a scheduler's binary on the host. A binary given as a path
// (anything with a '/') is used as given; a bare name is searched in
//   1. $KTSTR_SCHEDULER_PATH (colon-separated directories)
//   2. <dir of the running executable>/schedulers, then that dir itself
//   3. the build tree's bin/schedulers (where `make` puts them)
// and the error lists every place it looked and how to build them.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "scheduler/definition.h"
#include "util/result.h"

namespace ktstr::scheduler {

struct SearchPath {
  std::vector<std::filesystem::path> dirs;  // searched in order
  bool env_set = false;                     // $KTSTR_SCHEDULER_PATH was set (for messages)
};

// The search order above, for this process.
SearchPath default_search_path();
// Same, from explicit parts (tests): env = $KTSTR_SCHEDULER_PATH's value
// (nullptr = unset), exe_dir and build_bin_dir may be empty.
SearchPath make_search_path(const char* env, const std::filesystem::path& exe_dir,
                            const std::filesystem::path& build_bin_dir);

// The executable file for `def`; eevdf (nothing to load) is an error.
Result<std::filesystem::path> find_scheduler_binary(const SchedulerDef& def);
Result<std::filesystem::path> find_scheduler_binary(const SchedulerDef& def,
                                                    const SearchPath& search);

}  // namespace ktstr::scheduler
