#include "scheduler/lookup.h"

#include <unistd.h>

#include <cstdlib>
#include <system_error>

#include "util/files.h"

namespace ktstr::scheduler {

namespace fs = std::filesystem;

namespace {

bool is_executable_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && ::access(p.c_str(), X_OK) == 0;
}

fs::path exe_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

constexpr const char* kHowToBuild =
    "build the schedulers with `make` (they land in <build>/bin/schedulers) or set "
    "KTSTR_SCHEDULER_PATH to the directory that holds it";

}  // namespace

SearchPath make_search_path(const char* env, const fs::path& exe_dir,
                            const fs::path& build_bin_dir) {
  SearchPath s;
  if (env) {
    s.env_set = true;
    for (const auto& d : split(env, ':'))
      if (!d.empty()) s.dirs.emplace_back(d);
  }
  auto add = [&](const fs::path& p) {
    if (p.empty()) return;
    for (const auto& d : s.dirs)
      if (d == p) return;
    s.dirs.push_back(p);
  };
  if (!exe_dir.empty()) {
    add(exe_dir / "schedulers");
    add(exe_dir);
  }
  if (!build_bin_dir.empty()) add(build_bin_dir / "schedulers");
  return s;
}

SearchPath default_search_path() {
#ifdef KTSTR_BUILD_BIN_DIR
  const fs::path build = KTSTR_BUILD_BIN_DIR;
#else
  const fs::path build;
#endif
  return make_search_path(std::getenv("KTSTR_SCHEDULER_PATH"), exe_dir(), build);
}

Result<fs::path> find_scheduler_binary(const SchedulerDef& def) {
  return find_scheduler_binary(def, default_search_path());
}

Result<fs::path> find_scheduler_binary(const SchedulerDef& def, const SearchPath& search) {
  if (def.builtin_eevdf)
    return invalid_argument("scheduler '" + def.name +
                            "' is the kernel's own (EEVDF): there is no binary to load");
  if (def.binary.empty())
    return invalid_argument("scheduler '" + def.name + "' has no binary; set binary = \"...\"");
  if (def.binary.find('/') != std::string::npos) {
    fs::path p = def.binary;
    std::error_code ec;
    if (!fs::exists(p, ec))
      return not_found("scheduler binary " + def.binary + " does not exist; check the path");
    if (!is_executable_file(p))
      return invalid_argument("scheduler binary " + def.binary +
                              " is not an executable file; chmod +x it or fix the path");
    return p;
  }
  for (const auto& dir : search.dirs) {
    fs::path p = dir / def.binary;
    if (is_executable_file(p)) return p;
  }
  std::string where = search.env_set ? "" : "$KTSTR_SCHEDULER_PATH (unset)";
  for (const auto& d : search.dirs) where += (where.empty() ? "" : ", ") + d.string();
  return not_found("scheduler binary '" + def.binary + "' (for " + def.name +
                   ") not found; looked in: " + where + "; " + kHowToBuild);
}

}  // namespace ktstr::scheduler
