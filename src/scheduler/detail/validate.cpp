#include "scheduler/detail/validate.h"

#include "util/edit_distance.h"

#include <algorithm>
#include <set>

#include "check/thresholds.h"
#include "scheduler/profiles.h"
#include "topology/presets.h"
#include "topology/topology.h"

namespace ktstr::scheduler::detail {

namespace {

constexpr size_t kMaxDescription = 200;
constexpr size_t kMaxOpsName = 127;  // SCX_OPS_NAME_LEN - 1

std::string index_field(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}


void check_description(std::vector<Problem>& out, const std::string& field, std::string_view text,
                       bool required) {
  if (text.empty()) {
    if (required) out.push_back({field, "is empty; say in one line what it is"});
  } else if (text.find_first_of("\r\n") != std::string_view::npos) {
    out.push_back({field, "spans several lines; keep it to one line"});
  } else if (text.size() > kMaxDescription) {
    out.push_back({field, "is " + std::to_string(text.size()) + " characters; keep it under " +
                              std::to_string(kMaxDescription)});
  }
}

// requires / excludes of flag `i`: other, existing, distinct flags.
void check_references(std::vector<Problem>& out, const SchedulerDef& def, size_t i,
                      const std::vector<std::string>& names, bool& refs_ok) {
  const Flag& f = def.flags[i];
  auto check_list = [&](const std::vector<std::string>& list, const char* key) {
    std::set<std::string> seen;
    for (size_t k = 0; k < list.size(); ++k) {
      const std::string field = index_field(index_field("flag", i) + "." + key, k);
      const std::string& ref = list[k];
      if (ref == f.name) {
        out.push_back({field, "names the flag itself; remove '" + ref + "'"});
        refs_ok = false;
      } else if (std::find(names.begin(), names.end(), ref) == names.end()) {
        std::string near = closest(ref, names);
        out.push_back({field, "unknown flag '" + ref + "'; " +
                                  (near.empty() ? "" : "did you mean '" + near + "'? ") +
                                  "known: " + joined(names)});
        refs_ok = false;
      } else if (!seen.insert(ref).second) {
        out.push_back({field, "lists '" + ref + "' twice; remove one"});
      }
    }
  };
  check_list(f.requires_, "requires");
  check_list(f.excludes, "excludes");
  for (const auto& r : f.requires_)
    if (std::find(f.excludes.begin(), f.excludes.end(), r) != f.excludes.end()) {
      out.push_back({index_field("flag", i), "both requires and excludes '" + r +
                                                 "'; the flag could never be used"});
      refs_ok = false;
    }
}

void check_flags(std::vector<Problem>& out, const SchedulerDef& def) {
  if (def.flags.size() > kMaxFlags) {
    out.push_back({"flag", std::to_string(def.flags.size()) + " flags; at most " +
                               std::to_string(kMaxFlags) +
                               " (profiles are their power set): drop some or split the scheduler"});
    return;
  }
  std::vector<std::string> names;
  for (const auto& f : def.flags) names.push_back(f.name);
  bool refs_ok = true;
  std::set<std::string> seen;
  for (size_t i = 0; i < def.flags.size(); ++i) {
    const Flag& f = def.flags[i];
    const std::string field = index_field("flag", i);
    if (!is_flag_name(f.name)) {
      out.push_back({field + ".name", "'" + f.name +
                                          "' is not a flag name; use lower-case letters, digits, "
                                          "'_' and '-'"});
      refs_ok = false;
    } else if (f.name == kDefaultProfile) {
      out.push_back({field + ".name", "'default' names the profile without flags; pick another name"});
      refs_ok = false;
    } else if (!seen.insert(f.name).second) {
      out.push_back({field + ".name", "flag '" + f.name + "' is defined twice; rename one"});
      refs_ok = false;
    }
    if (f.args.empty())
      out.push_back({field + ".args", "is empty; a flag must add arguments (e.g. args = [\"-f\"])"});
    for (size_t k = 0; k < f.args.size(); ++k)
      if (f.args[k].empty()) out.push_back({index_field(field + ".args", k), "is empty"});
    check_description(out, field + ".description", f.description, false);
    check_references(out, def, i, names, refs_ok);
  }
  if (!refs_ok) return;
  // Every flag must appear in at least one profile, else its rules contradict.
  std::set<std::string> usable;
  for (const auto& p : profiles(def)) usable.insert(p.flags.begin(), p.flags.end());
  for (size_t i = 0; i < def.flags.size(); ++i)
    if (!usable.count(def.flags[i].name))
      out.push_back({index_field("flag", i),
                     "flag '" + def.flags[i].name +
                         "' can never be used: what it requires excludes it; fix requires/excludes"});
}

void check_topology(std::vector<Problem>& out, const std::string& spec) {
  if (spec.empty() || topo::find_preset(spec)) return;
  auto t = topo::Topology::parse(spec);
  if (!t.ok())
    out.push_back({"default_topology", "'" + spec + "' is neither a preset nor a spec (" +
                                           t.error().message() +
                                           "); use e.g. \"tiny-2llc\" or \"1n2l2c1t\""});
}

}  // namespace

bool is_scheduler_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '-';
  });
}

bool is_flag_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  const size_t limit = std::max<size_t>(1, word.size() / 3);
  std::string best;
  size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d >= word.size()) continue;
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

std::vector<Problem> find_problems(const SchedulerDef& def) {
  std::vector<Problem> out;
  if (!is_scheduler_name(def.name))
    out.push_back({"name", "'" + def.name +
                               "' is not a scheduler name; use letters, digits, '_', '.' and '-'"});
  check_description(out, "description", def.description, true);
  if (def.builtin_eevdf) {
    if (!def.binary.empty())
      out.push_back({"binary", "is set for the kernel's own scheduler (builtin_eevdf); remove it"});
    if (!def.ops_name.empty())
      out.push_back({"ops_name", "is set for the kernel's own scheduler (builtin_eevdf); remove it"});
    if (!def.default_args.empty() || !def.flags.empty())
      out.push_back({"", "the kernel's own scheduler (builtin_eevdf) takes no arguments or flags"});
  } else if (def.binary.empty()) {
    out.push_back({"binary", "is missing; add binary = \"scx_foo\" (a name to look up or a path)"});
  }
  if (def.ops_name.size() > kMaxOpsName ||
      def.ops_name.find_first_of(" \t\r\n") != std::string::npos)
    out.push_back({"ops_name", "'" + def.ops_name +
                                   "' cannot be a sched_ext ops name; use the .name of its "
                                   "struct sched_ext_ops (e.g. \"simple\")"});
  for (size_t k = 0; k < def.default_args.size(); ++k)
    if (def.default_args[k].empty()) out.push_back({index_field("default_args", k), "is empty"});
  if (!def.watchdog_timeout_arg.empty() && def.watchdog_timeout_arg[0] != '-')
    out.push_back({"watchdog_timeout_arg", "'" + def.watchdog_timeout_arg +
                                               "' is not an option; write it as the scheduler "
                                               "takes it, e.g. \"--timeout-ms\""});
  check_topology(out, def.default_topology);
  check::Thresholds scratch;
  for (const auto& [key, value] : def.thresholds)
    if (auto s = check::set_threshold(scratch, key, value, check::Origin::kScheduler); !s.ok())
      out.push_back({"thresholds." + key, s.error().message()});
  check_flags(out, def);
  return out;
}

}  // namespace ktstr::scheduler::detail
