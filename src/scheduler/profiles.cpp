#include "scheduler/profiles.h"

#include <algorithm>
#include <cstdint>

#include "util/files.h"

namespace ktstr::scheduler {

namespace {

// Index of flag `name` in def.flags, or -1.
int index_of(const SchedulerDef& def, std::string_view name) {
  for (size_t i = 0; i < def.flags.size(); ++i)
    if (def.flags[i].name == name) return static_cast<int>(i);
  return -1;
}

// Why the set `mask` (bit i = def.flags[i]) is not a valid profile, or "".
// Unknown names in requires can never be met; unknown excludes are moot.
std::string violation(const SchedulerDef& def, uint32_t mask) {
  for (size_t i = 0; i < def.flags.size(); ++i) {
    if (!(mask >> i & 1)) continue;
    const Flag& f = def.flags[i];
    for (const auto& r : f.requires_) {
      int j = index_of(def, r);
      if (j < 0 || !(mask >> j & 1))
        return "flag '" + f.name + "' requires '" + r + "'; add it";
    }
    for (const auto& x : f.excludes) {
      int j = index_of(def, x);
      if (j >= 0 && (mask >> j & 1))
        return "flags '" + f.name + "' and '" + x + "' exclude each other; pick one";
    }
  }
  return "";
}

Profile make_profile(const SchedulerDef& def, uint32_t mask) {
  Profile p;
  for (size_t i = 0; i < def.flags.size(); ++i) {
    if (!(mask >> i & 1)) continue;
    const Flag& f = def.flags[i];
    p.flags.push_back(f.name);
    p.args.insert(p.args.end(), f.args.begin(), f.args.end());
    p.display_name += (p.display_name.empty() ? "" : "+") + f.name;
  }
  if (p.display_name.empty()) p.display_name = std::string(kDefaultProfile);
  return p;
}

std::string known_flags(const SchedulerDef& def) {
  std::string out;
  for (const auto& f : def.flags) out += (out.empty() ? "" : ", ") + f.name;
  return out.empty() ? "it has none" : "known: " + out;
}

}  // namespace

std::vector<Profile> profiles(const SchedulerDef& def) {
  const size_t n = std::min(def.flags.size(), kMaxFlags);
  std::vector<uint32_t> masks;
  for (uint32_t m = 0; m < (1u << n); ++m)
    if (violation(def, m).empty()) masks.push_back(m);
  // Fewer flags first; among equals, the earlier-declared flags first, i.e.
  // the masks compared as flag-index sequences.
  std::stable_sort(masks.begin(), masks.end(), [](uint32_t a, uint32_t b) {
    int ca = __builtin_popcount(a), cb = __builtin_popcount(b);
    if (ca != cb) return ca < cb;
    while (a && b) {
      int ia = __builtin_ctz(a), ib = __builtin_ctz(b);
      if (ia != ib) return ia < ib;
      a &= a - 1;
      b &= b - 1;
    }
    return false;
  });
  std::vector<Profile> out;
  for (uint32_t m : masks) out.push_back(make_profile(def, m));
  return out;
}

Result<Profile> profile_for(const SchedulerDef& def, const std::vector<std::string>& flags) {
  if (def.flags.size() > kMaxFlags)
    return invalid_argument(def.name + ": too many flags (" + std::to_string(def.flags.size()) +
                            "); at most " + std::to_string(kMaxFlags));
  uint32_t mask = 0;
  for (const auto& name : flags) {
    if (name == kDefaultProfile) {
      if (flags.size() == 1) break;
      return invalid_argument(def.name + ": 'default' means no flags; do not combine it with flags");
    }
    int i = index_of(def, name);
    if (i < 0)
      return invalid_argument(def.name + ": unknown flag '" + name + "'; " + known_flags(def));
    if (mask >> i & 1) return invalid_argument(def.name + ": flag '" + name + "' given twice");
    mask |= 1u << i;
  }
  if (std::string why = violation(def, mask); !why.empty())
    return invalid_argument(def.name + ": " + why);
  return make_profile(def, mask);
}

Result<Profile> profile_for(const SchedulerDef& def, std::string_view spec) {
  std::vector<std::string> names;
  std::string cur;
  for (char c : std::string(spec) + ",") {
    if (c == ',' || c == '+') {
      std::string_view t = trim(cur);
      if (!t.empty()) names.emplace_back(t);
      else if (!trim(spec).empty())
        return invalid_argument(def.name + ": empty flag name in '" + std::string(spec) +
                                "'; write flags as a+b or a,b");
      cur.clear();
    } else {
      cur += c;
    }
  }
  return profile_for(def, names);
}

}  // namespace ktstr::scheduler
