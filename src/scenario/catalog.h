// The scenario catalog: the shipped scenarios/*.toml files, compiled into
// the library at build time (so the ktstr binary and the guest agent always
// have them), or loaded from a directory to use edited or extra files.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "scenario/model.h"
#include "util/result.h"

namespace ktstr::scenario {

// One catalog file as compiled in: its file name ("steady.toml") and text.
struct EmbeddedScenario {
  std::string_view file;
  std::string_view text;
};
// Sorted by file name.
std::span<const EmbeddedScenario> embedded_catalog();

// The directory of catalog files, first that applies: $KTSTR_SCENARIO_DIR;
// <dir of the running executable>/../share/ktstr/scenarios if it exists;
// the source tree's scenarios/ if it exists; else an empty path.
std::filesystem::path default_catalog_dir();

// Every scenario of every *.toml file in `dir` (sorted by name), or of the
// embedded catalog when `dir` is nullopt. All files' errors are reported
// together; a scenario name used twice is an error.
Result<std::vector<Scenario>> load_catalog(const std::optional<std::filesystem::path>& dir =
                                               std::nullopt);

// A scenario by name from `catalog`, or, when `name_or_path` names an
// existing file (or ends in .toml / contains '/'), the one scenario in it.
// Unknown names suggest the closest catalog name.
Result<Scenario> find_scenario(std::string_view name_or_path, std::span<const Scenario> catalog);
// The same against the embedded catalog.
Result<Scenario> find_scenario(std::string_view name_or_path);

// Scenarios whose name contains `filter` (all when empty), catalog order.
std::vector<Scenario> filter_catalog(std::span<const Scenario> catalog, std::string_view filter);

}  // namespace ktstr::scenario
