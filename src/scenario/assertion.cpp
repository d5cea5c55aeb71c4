#include "scenario/assertion.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <set>

#include "scenario/detail/closest.h"

namespace ktstr::scenario {

namespace {

constexpr std::array<std::string_view, 6> kOpNames = {"eq", "ne", "lt", "le", "gt", "ge"};
constexpr std::array<std::string_view, 7> kKindNames = {"non_decreasing", "non_increasing", "rate",
                                                        "steady",         "converges",      "always",
                                                        "ratio"};

template <size_t N>
std::string joined(const std::array<std::string_view, N>& names) {
  std::string out;
  for (auto n : names) out += (out.empty() ? "" : ", ") + std::string(n);
  return out;
}

template <size_t N>
std::string near_hint(std::string_view word, const std::array<std::string_view, N>& names) {
  std::string near = detail::closest(word, std::vector<std::string>(names.begin(), names.end()));
  return near.empty() ? std::string() : "did you mean '" + near + "'? ";
}

std::string number_text(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

// A dotted field path: segments of [A-Za-z0-9_] with optional [index]
// suffixes, e.g. "cpus[0].nr_running" or "maps.scx_simple.bss.value.x".
bool plausible_path(std::string_view p) {
  if (p.empty() || p.size() > kMaxAssertPath || p.front() == '.' || p.back() == '.') return false;
  if (p.find("..") != std::string_view::npos) return false;
  for (char c : p) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '[' || c == ']' || c == '-' || c == ':';
    if (!ok) return false;
  }
  return true;
}

class Problems {
 public:
  void add(std::string key, std::string what) { out_.push_back({std::move(key), std::move(what)}); }
  std::vector<AssertionProblem> take() { return std::move(out_); }

 private:
  std::vector<AssertionProblem> out_;
};

void check_path(Problems& p, std::string_view key, const std::string& path) {
  if (path.empty()) {
    p.add(std::string(key), "is missing; add " + std::string(key) +
                                " = \"global.nr_running\" (a field path into the snapshot)");
  } else if (!plausible_path(path)) {
    p.add(std::string(key), "'" + path.substr(0, 40) +
                                "' is not a field path; use dotted names with optional [index], "
                                "at most " + std::to_string(kMaxAssertPath) + " characters");
  }
}

bool refers_to_watch(std::string_view name, const AssertionContext& ctx) {
  if (name.rfind("watch:", 0) != 0) return false;
  std::string_view rest = name.substr(6);
  rest = rest.substr(0, rest.find('#'));
  return std::find(ctx.watched_symbols.begin(), ctx.watched_symbols.end(), rest) !=
         ctx.watched_symbols.end();
}

void check_reference(Problems& p, std::string_view key, const std::string& name,
                     const AssertionContext& ctx) {
  if (name.empty()) {
    p.add(std::string(key), "has an empty snapshot name; name a snapshot op");
    return;
  }
  bool known = std::find(ctx.snapshot_names.begin(), ctx.snapshot_names.end(), name) !=
               ctx.snapshot_names.end();
  if (known || refers_to_watch(name, ctx)) return;
  std::string near = detail::closest(name, ctx.snapshot_names);
  p.add(std::string(key),
        "no snapshot op is named '" + name + "'; " +
            (near.empty() ? std::string("add { op = \"snapshot\", name = \"" + name +
                                        "\" } to a step, or name a watch capture as "
                                        "\"watch:<symbol>\"")
                          : "did you mean '" + near + "'?"));
}

void check_source(Problems& p, const SnapshotAssertion& a, const AssertionContext& ctx) {
  int sources = !a.snapshot.empty() + !a.snapshots.empty() + !a.series.empty();
  if (sources == 0) {
    p.add("", "names no snapshots; add snapshot = \"name\", snapshots = [\"a\", \"b\"] or "
              "series = \"periodic\"");
    return;
  }
  if (sources > 1) {
    p.add("", "names its snapshots more than once; keep one of snapshot, snapshots, series");
    return;
  }
  if (!a.snapshot.empty()) check_reference(p, "snapshot", a.snapshot, ctx);
  if (!a.snapshots.empty()) {
    if (a.snapshots.size() > kMaxAssertSnapshots)
      p.add("snapshots", "names " + std::to_string(a.snapshots.size()) +
                             " snapshots; use at most " + std::to_string(kMaxAssertSnapshots));
    std::set<std::string> seen;
    for (const auto& name : a.snapshots) {
      if (!seen.insert(name).second) {
        p.add("snapshots", "names '" + name + "' twice; list each snapshot once");
        break;
      }
    }
    for (const auto& name : a.snapshots) check_reference(p, "snapshots", name, ctx);
  }
  if (!a.series.empty()) {
    if (a.series != kPeriodicSeries) {
      std::array<std::string_view, 1> series = {kPeriodicSeries};
      p.add("series", "'" + a.series + "' is not a series; " + near_hint(a.series, series) +
                          "the only series is \"periodic\"");
    } else if (ctx.periodic_snapshots == 0) {
      p.add("series", "is \"periodic\" but the scenario takes no periodic snapshots; add "
                      "snapshots = 10 at the top level");
    }
  }
}

bool is_number(const std::optional<AssertValue>& v) {
  return v && std::holds_alternative<double>(*v);
}

void check_value(Problems& p, const SnapshotAssertion& a, CompareOp op) {
  if (!a.value) {
    p.add("value", "is missing; op '" + std::string(to_string(op)) +
                       "' compares against value = <number>");
    return;
  }
  if (const double* d = std::get_if<double>(&*a.value); d && !std::isfinite(*d))
    p.add("value", "must be a finite number");
  bool ordering = op != CompareOp::kEq && op != CompareOp::kNe;
  if (ordering && !is_number(a.value))
    p.add("value", "is " + std::string(std::holds_alternative<bool>(*a.value) ? "a boolean" : "a string") +
                       "; op '" + std::string(to_string(op)) + "' orders numbers (eq and ne "
                       "also compare strings and booleans)");
}

void check_range(Problems& p, const SnapshotAssertion& a, std::string_view kind) {
  if (!a.min && !a.max)
    p.add("", "kind '" + std::string(kind) + "' needs min, max or both");
  for (auto [key, v] : {std::pair{"min", a.min}, std::pair{"max", a.max}})
    if (v && !std::isfinite(*v)) p.add(key, "must be a finite number");
  if (a.min && a.max && *a.min > *a.max)
    p.add("max", "is " + number_text(*a.max) + ", below min = " + number_text(*a.min) +
                     "; swap them");
}

// The parameters each form takes; anything else set is an error.
struct Takes {
  bool op = false, value = false, min_max = false, band = false, tolerance = false, path2 = false;
};

Takes takes(const SnapshotAssertion& a) {
  if (!a.kind) return {.op = true, .value = true};
  switch (*a.kind) {
    case AssertKind::kNonDecreasing:
    case AssertKind::kNonIncreasing: return {};
    case AssertKind::kRate: return {.min_max = true};
    case AssertKind::kSteady: return {.band = true};
    case AssertKind::kConverges: return {.value = true, .tolerance = true};
    case AssertKind::kAlways: return {.op = true, .value = true};
    case AssertKind::kRatio: return {.min_max = true, .path2 = true};
  }
  return {};
}

std::string params_of(const SnapshotAssertion& a) {
  if (!a.kind) return "op and value";
  switch (*a.kind) {
    case AssertKind::kNonDecreasing:
    case AssertKind::kNonIncreasing: return "no parameters";
    case AssertKind::kRate: return "min and/or max";
    case AssertKind::kSteady: return "band";
    case AssertKind::kConverges: return "value and tolerance";
    case AssertKind::kAlways: return "op and value";
    case AssertKind::kRatio: return "path2 and min and/or max";
  }
  return "";
}

void check_unused(Problems& p, const SnapshotAssertion& a) {
  const Takes t = takes(a);
  const std::string form = a.kind ? "kind '" + std::string(to_string(*a.kind)) + "'" : "a comparison";
  auto unused = [&](bool set, bool taken, const char* key) {
    if (set && !taken) p.add(key, "is not a parameter of " + form + " (it takes " + params_of(a) + ")");
  };
  unused(a.kind && a.op.has_value(), t.op, "op");
  unused(a.kind && a.value.has_value(), t.value, "value");
  unused(a.min.has_value(), t.min_max, "min");
  unused(a.max.has_value(), t.min_max, "max");
  unused(a.band.has_value(), t.band, "band");
  unused(a.tolerance.has_value(), t.tolerance, "tolerance");
  unused(!a.path2.empty(), t.path2, "path2");
}

void check_form(Problems& p, const SnapshotAssertion& a) {
  if (!a.kind) {
    if (!a.op) {
      p.add("", "says nothing to check; add op = \"lt\" with value = N, or kind = \"non_decreasing\" "
                "(kinds: " + joined(kKindNames) + ")");
      return;
    }
    check_value(p, a, *a.op);
    if (a.several() && a.snapshot.empty())  // (both set: reported as the source's error)
      p.add("op", "compares one snapshot; for several write kind = \"always\" with op and value");
    check_unused(p, a);
    return;
  }
  const AssertKind k = *a.kind;
  const std::string name(to_string(k));
  if (k != AssertKind::kRatio && !a.several())
    p.add("kind", "'" + name + "' compares several snapshots; use snapshots = [\"a\", \"b\"] or "
                  "series = \"periodic\"");
  if (!a.snapshots.empty() && a.snapshots.size() < 2 && k != AssertKind::kRatio)
    p.add("snapshots", "names one snapshot; kind '" + name + "' needs at least two");
  switch (k) {
    case AssertKind::kNonDecreasing:
    case AssertKind::kNonIncreasing: break;
    case AssertKind::kRate: check_range(p, a, name); break;
    case AssertKind::kSteady:
      if (!a.band) p.add("band", "is missing; kind 'steady' needs band = N (largest max - min)");
      else if (!std::isfinite(*a.band) || *a.band < 0) p.add("band", "must be a finite number >= 0");
      break;
    case AssertKind::kConverges:
      if (!a.value) p.add("value", "is missing; kind 'converges' needs value = N (the target)");
      else if (!is_number(a.value) || !std::isfinite(std::get<double>(*a.value)))
        p.add("value", "must be a finite number (the value the series converges to)");
      if (!a.tolerance)
        p.add("tolerance", "is missing; kind 'converges' needs tolerance = N (largest |last - value|)");
      else if (!std::isfinite(*a.tolerance) || *a.tolerance < 0)
        p.add("tolerance", "must be a finite number >= 0");
      break;
    case AssertKind::kAlways:
      if (!a.op) p.add("op", "is missing; kind 'always' needs op (" + joined(kOpNames) + ") and value");
      else check_value(p, a, *a.op);
      break;
    case AssertKind::kRatio:
      if (a.path2.empty()) p.add("path2", "is missing; kind 'ratio' divides path by path2");
      else check_path(p, "path2", a.path2);
      check_range(p, a, name);
      break;
  }
  check_unused(p, a);
}

}  // namespace

std::string_view to_string(CompareOp op) { return kOpNames[static_cast<size_t>(op)]; }

Result<CompareOp> parse_compare_op(std::string_view name) {
  for (size_t i = 0; i < kOpNames.size(); ++i)
    if (kOpNames[i] == name) return static_cast<CompareOp>(i);
  return invalid_argument("'" + std::string(name) + "' is not a comparison; " +
                          near_hint(name, kOpNames) + "use one of " + joined(kOpNames));
}

std::string_view to_string(AssertKind kind) { return kKindNames[static_cast<size_t>(kind)]; }

Result<AssertKind> parse_assert_kind(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i)
    if (kKindNames[i] == name) return static_cast<AssertKind>(i);
  return invalid_argument("'" + std::string(name) + "' is not a kind; " +
                          near_hint(name, kKindNames) + "kinds: " + joined(kKindNames));
}

std::vector<AssertionProblem> check_assertion(const SnapshotAssertion& a,
                                              const AssertionContext& ctx) {
  Problems p;
  check_source(p, a, ctx);
  check_path(p, "path", a.path);
  check_form(p, a);
  return p.take();
}

Status validate_assertions(std::span<const SnapshotAssertion> asserts,
                           const AssertionContext& ctx) {
  std::string lines;
  for (size_t i = 0; i < asserts.size(); ++i)
    for (const auto& problem : check_assertion(asserts[i], ctx)) {
      std::string field = "assert[" + std::to_string(i) + "]";
      if (!problem.key.empty()) field += "." + problem.key;
      lines += (lines.empty() ? "" : "\n") + field + ": " + problem.what;
    }
  if (lines.empty()) return {};
  return invalid_argument(lines);
}

std::string to_string(const AssertValue& v) {
  if (const double* d = std::get_if<double>(&v)) return number_text(*d);
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return "\"" + std::get<std::string>(v) + "\"";
}

std::string describe(const SnapshotAssertion& a) {
  std::string s;
  if (!a.snapshot.empty()) {
    s = "snapshot '" + a.snapshot + "'";
  } else if (!a.series.empty()) {
    s = "series " + a.series;
  } else {
    s = "snapshots [";
    for (size_t i = 0; i < a.snapshots.size(); ++i) s += (i ? ", " : "") + a.snapshots[i];
    s += "]";
  }
  s += " " + a.path;
  if (a.kind) s += " " + std::string(to_string(*a.kind));
  if (a.op) s += " " + std::string(to_string(*a.op));
  if (a.value) s += " " + to_string(*a.value);
  if (!a.path2.empty()) s += " / " + a.path2;
  if (a.min) s += " min " + number_text(*a.min);
  if (a.max) s += " max " + number_text(*a.max);
  if (a.band) s += " band " + number_text(*a.band);
  if (a.tolerance) s += " tolerance " + number_text(*a.tolerance);
  return s;
}

}  // namespace ktstr::scenario
