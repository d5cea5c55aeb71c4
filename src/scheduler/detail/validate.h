// Semantic checks of a SchedulerDef as a list of problems, each naming its
// field ("flag[1].requires"), so the TOML parser can place them at
// FILE:LINE:COL and validate() can join them into one line.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scheduler/definition.h"

namespace ktstr::scheduler::detail {

struct Problem {
  std::string field;  // "" = the definition as a whole
  std::string what;   // "<what is wrong>; <what to do>"
};

std::vector<Problem> find_problems(const SchedulerDef& def);

// [A-Za-z0-9_.-]+ for scheduler names; [a-z0-9_-]+ for flag names.
bool is_scheduler_name(std::string_view s);
bool is_flag_name(std::string_view s);

// Edit-distance suggestion among `candidates`, "" when nothing is close.
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace ktstr::scheduler::detail
