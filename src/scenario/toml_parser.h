// Reading scenario files (TOML, format in docs/scenarios.md). Parsing is
// strict: unknown keys, wrong types, out-of-range values, unknown work
// types, bad cpuset specs and references to cgroups or payloads that do not
// exist at that point are all errors. Every error of a file is reported at
// once, one per line of the Error's message, each as
//   FILE:LINE:COL: field 'step[1].ops[0].cpuset': <what is wrong>; <what to do>
// (indices are 0-based).
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "scenario/model.h"
#include "util/result.h"

namespace ktstr::scenario {

// A file holds one scenario (top-level keys) or several ([[scenario]] tables).
// `virtual_name` stands for the file name in messages.
Result<std::vector<Scenario>> parse_scenarios_text(std::string_view text,
                                                   std::string_view virtual_name);
Result<std::vector<Scenario>> parse_scenarios_file(const std::filesystem::path& path);

// Exactly one scenario; a file with several is an error naming them.
Result<Scenario> parse_scenario_text(std::string_view text, std::string_view virtual_name);
Result<Scenario> parse_scenario_file(const std::filesystem::path& path);

}  // namespace ktstr::scenario
