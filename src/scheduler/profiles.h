// Flag profiles: the combinations of a scheduler's flags a run can use. The
// full set is the power set of its flags minus the combinations that break a
// `requires` or `excludes` rule; a run picks one by flag names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scheduler/definition.h"
#include "util/result.h"

namespace ktstr::scheduler {

struct Profile {
  std::vector<std::string> flags;  // in the definition's flag order
  std::string display_name;        // flags joined with '+'; "default" when none
  std::vector<std::string> args;   // the flags' args, in the same order
  bool operator==(const Profile&) const = default;
};

inline constexpr std::string_view kDefaultProfile = "default";

// Every valid profile: by number of flags, then in flag order ("default"
// first). A definition with no flags has just "default".
std::vector<Profile> profiles(const SchedulerDef& def);

// The profile with exactly these flags (any order; "default" alone or an
// empty list = none). Errors are one line: an unknown or repeated flag, a
// missing requirement, a pair that excludes each other.
Result<Profile> profile_for(const SchedulerDef& def, const std::vector<std::string>& flags);
// Same from text: "fifo+batch", "fifo,batch" or "default".
Result<Profile> profile_for(const SchedulerDef& def, std::string_view spec);

}  // namespace ktstr::scheduler
