#include "scenario/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <system_error>

#include "scenario/detail/closest.h"
#include "scenario/toml_parser.h"

namespace ktstr::scenario {

namespace fs = std::filesystem;

namespace {

bool is_dir(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

// Parses each (name, text) and merges them; all errors together.
template <typename Source>
Result<std::vector<Scenario>> merge(const std::vector<Source>& sources, const auto& parse) {
  std::vector<Scenario> all;
  std::string errors;
  std::map<std::string, std::string> seen;  // scenario name -> file
  for (const auto& src : sources) {
    auto r = parse(src);
    if (!r.ok()) {
      errors += (errors.empty() ? "" : "\n") + r.error().message();
      continue;
    }
    for (auto& s : *r) {
      std::string file = fs::path(src.first).filename().string();
      auto [it, fresh] = seen.emplace(s.name, file);
      if (!fresh) {
        errors += (errors.empty() ? "" : "\n") + std::string(src.first) + ": scenario '" + s.name +
                  "' is also defined in " + it->second + "; rename one";
        continue;
      }
      all.push_back(std::move(s));
    }
  }
  if (!errors.empty()) return invalid_argument(errors);
  std::sort(all.begin(), all.end(),
            [](const Scenario& a, const Scenario& b) { return a.name < b.name; });
  return all;
}

bool looks_like_path(std::string_view s) {
  return s.find('/') != std::string_view::npos ||
         (s.size() > 5 && s.substr(s.size() - 5) == ".toml");
}

}  // namespace

fs::path default_catalog_dir() {
  if (const char* env = std::getenv("KTSTR_SCENARIO_DIR"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path() / ".." / "share" / "ktstr" / "scenarios";
    if (is_dir(installed)) return installed.lexically_normal();
  }
#ifdef KTSTR_SOURCE_SCENARIO_DIR
  if (is_dir(KTSTR_SOURCE_SCENARIO_DIR)) return KTSTR_SOURCE_SCENARIO_DIR;
#endif
  return {};
}

Result<std::vector<Scenario>> load_catalog(const std::optional<fs::path>& dir) {
  using Source = std::pair<std::string, std::string_view>;  // file, text (embedded)
  if (!dir) {
    std::vector<Source> sources;
    for (const auto& e : embedded_catalog()) sources.emplace_back(std::string(e.file), e.text);
    return merge(sources, [](const Source& s) { return parse_scenarios_text(s.second, s.first); });
  }
  if (!is_dir(*dir))
    return not_found("scenario directory " + dir->string() +
                     " does not exist; point KTSTR_SCENARIO_DIR at a folder of .toml files");
  std::vector<Source> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(*dir, ec))
    if (entry.path().extension() == ".toml") files.emplace_back(entry.path().string(), "");
  if (ec) return io_error("listing scenario directory " + dir->string());
  std::sort(files.begin(), files.end());
  return merge(files, [](const Source& s) { return parse_scenarios_file(s.first); });
}

Result<Scenario> find_scenario(std::string_view name_or_path, std::span<const Scenario> catalog) {
  std::error_code ec;
  if (looks_like_path(name_or_path) || fs::is_regular_file(fs::path(name_or_path), ec))
    return parse_scenario_file(fs::path(name_or_path));
  std::vector<std::string> names;
  for (const auto& s : catalog) {
    if (s.name == name_or_path) return s;
    names.push_back(s.name);
  }
  std::string near = detail::closest(name_or_path, names);
  return not_found("unknown scenario '" + std::string(name_or_path) + "'; " +
                   (near.empty() ? std::string() : "did you mean '" + near + "'? ") +
                   "run `ktstr list` for the catalog, or give a path to a .toml file");
}

Result<Scenario> find_scenario(std::string_view name_or_path) {
  if (looks_like_path(name_or_path)) return find_scenario(name_or_path, {});
  KTSTR_ASSIGN(auto catalog, load_catalog(), "loading the embedded scenario catalog");
  return find_scenario(name_or_path, catalog);
}

std::vector<Scenario> filter_catalog(std::span<const Scenario> catalog, std::string_view filter) {
  std::vector<Scenario> out;
  for (const auto& s : catalog)
    if (s.name.find(filter) != std::string::npos) out.push_back(s);
  return out;
}

}  // namespace ktstr::scenario
