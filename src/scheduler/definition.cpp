#include "scheduler/definition.h"

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "scheduler/detail/embedded.h"
#include "scheduler/detail/validate.h"
#include "scheduler/toml_parser.h"

namespace ktstr::scheduler {

namespace {

struct Builtins {
  std::vector<SchedulerDef> defs;
  std::string error;  // non-empty: a built-in file is broken
};

Builtins load_builtins() {
  Builtins b;
  for (const auto& f : detail::embedded_builtins()) {
    auto parsed = parse_schedulers_text(f.text, "builtin/" + std::string(f.name));
    if (!parsed.ok()) {
      b.error = "built-in scheduler definitions are broken (a build bug): " +
                parsed.error().message();
      return b;
    }
    for (auto& d : *parsed) b.defs.push_back(std::move(d));
  }
  std::sort(b.defs.begin(), b.defs.end(), [](const SchedulerDef& x, const SchedulerDef& y) {
    if (x.builtin_eevdf != y.builtin_eevdf) return x.builtin_eevdf;  // eevdf first
    return x.name < y.name;
  });
  for (size_t i = 1; i < b.defs.size(); ++i)
    if (b.defs[i].name == b.defs[i - 1].name)
      b.error = "built-in scheduler '" + b.defs[i].name + "' is defined twice (a build bug)";
  return b;
}

std::string names_of(std::span<const SchedulerDef> a, std::span<const SchedulerDef> b = {}) {
  std::vector<std::string> names;
  for (const auto& d : a) names.push_back(d.name);
  for (const auto& d : b)
    if (std::find(names.begin(), names.end(), d.name) == names.end()) names.push_back(d.name);
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

Status validate(const SchedulerDef& def) {
  auto problems = detail::find_problems(def);
  if (problems.empty()) return {};
  std::string msg = "scheduler '" + def.name + "': ";
  for (size_t i = 0; i < problems.size(); ++i) {
    if (i) msg += "; ";
    const auto& p = problems[i];
    msg += p.field.empty() ? p.what : p.field + ": " + p.what;
  }
  return invalid_argument(msg);
}

Result<std::span<const SchedulerDef>> builtin_schedulers() {
  static const Builtins builtins = load_builtins();  // thread-safe init
  if (!builtins.error.empty()) return Error(Errc::kInternal, builtins.error);
  return std::span<const SchedulerDef>(builtins.defs);
}

Result<SchedulerDef> builtin_scheduler(std::string_view name) {
  KTSTR_ASSIGN(auto all, builtin_schedulers());
  for (const auto& d : all)
    if (d.name == name) return d;
  return not_found("unknown scheduler '" + std::string(name) + "'; built-in: " + names_of(all));
}

SchedulerDef adhoc_scheduler(std::string_view path) {
  SchedulerDef d;
  std::string file = std::filesystem::path(path).filename().string();
  d.name = detail::is_scheduler_name(file) ? file : "adhoc";
  d.binary = std::string(path);
  d.description = "scheduler binary given by path: " + std::string(path);
  return d;
}

Result<SchedulerDef> resolve_scheduler(std::string_view name_or_path,
                                       std::span<const SchedulerDef> user) {
  if (name_or_path.empty())
    return invalid_argument("scheduler: empty name; give a name (e.g. scx_simple) or a path");
  if (name_or_path.find('/') != std::string_view::npos) return adhoc_scheduler(name_or_path);
  for (const auto& d : user)
    if (d.name == name_or_path) return d;
  KTSTR_ASSIGN(auto all, builtin_schedulers());
  for (const auto& d : all)
    if (d.name == name_or_path) return d;
  std::vector<std::string> names;
  for (const auto& d : user) names.push_back(d.name);
  for (const auto& d : all) names.push_back(d.name);
  std::string near = detail::closest(name_or_path, names);
  return not_found("unknown scheduler '" + std::string(name_or_path) + "'; " +
                   (near.empty() ? "" : "did you mean '" + near + "'? ") +
                   "known: " + names_of(user, all) +
                   "; or give a path to a scheduler binary (./scx_foo)");
}

std::vector<std::string> command_args(const SchedulerDef& def,
                                      const std::vector<std::string>& profile_args,
                                      uint32_t watchdog_timeout_ms) {
  std::vector<std::string> out = def.default_args;
  out.insert(out.end(), profile_args.begin(), profile_args.end());
  if (watchdog_timeout_ms > 0 && !def.watchdog_timeout_arg.empty()) {
    out.push_back(def.watchdog_timeout_arg);
    out.push_back(std::to_string(watchdog_timeout_ms));
  }
  return out;
}

}  // namespace ktstr::scheduler
