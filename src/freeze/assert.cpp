// Snapshot assertions: snapshot selection, path resolution, the kinds.
#include "freeze/assert.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <optional>

namespace ktstr::freeze {

namespace {

using scenario::AssertKind;
using scenario::CompareOp;
using nlohmann::json;

constexpr size_t kMaxKeysShown = 20;

std::string keys_of(const json& j) {
  if (!j.is_object()) return std::string("it is ") + j.type_name();
  if (j.empty()) return "no keys";
  std::string out = "keys: ";
  size_t n = 0;
  for (auto it = j.begin(); it != j.end(); ++it, ++n) {
    if (n == kMaxKeysShown) {
      out += fmt::format(", … {} more", j.size() - n);
      break;
    }
    out += (n ? ", " : "") + it.key();
  }
  return out;
}

// The key of a map in the "maps" object: exact, else the unique suffix.
Result<std::string> select_map(const json& maps, std::string_view sel) {
  if (!maps.is_object()) return invalid_argument("the snapshot has no maps object");
  if (maps.contains(sel)) return std::string(sel);
  std::vector<std::string> hits;
  for (auto it = maps.begin(); it != maps.end(); ++it)
    if (!sel.empty() && std::string_view(it.key()).ends_with(sel)) hits.push_back(it.key());
  if (hits.size() == 1) return hits[0];
  if (hits.empty())
    return not_found(fmt::format("no map matches '{}' ({})", sel,
                                 maps.empty() ? std::string("the snapshot has no maps")
                                              : "maps: " + keys_of(maps).substr(6)));
  std::string list;
  for (const auto& h : hits) list += (list.empty() ? "" : ", ") + h;
  return invalid_argument(fmt::format("map '{}' is ambiguous: matches {}", sel, list));
}

class PathWalker {
 public:
  PathWalker(const json& root, std::string_view path) : cur_(&root), path_(path) {}

  Result<json> run() {
    if (path_.empty()) return invalid_argument("empty path");
    KTSTR_ASSIGN(std::string first, key());
    if (first == "maps" && pos_ < path_.size()) {
      KTSTR_TRY(enter_key(first));
      KTSTR_TRY(enter_map());
    } else {
      KTSTR_TRY(enter_key(first));
    }
    while (pos_ < path_.size()) {
      char c = path_[pos_];
      if (c == '.') {
        ++pos_;
        KTSTR_ASSIGN(std::string k, key());
        KTSTR_TRY(enter_key(k));
      } else if (c == '[') {
        KTSTR_TRY(enter_index());
      } else {
        return invalid_argument(fmt::format("unexpected '{}' at offset {}", c, pos_));
      }
    }
    return *cur_;
  }

 private:
  Result<std::string> key() {
    size_t end = path_.find_first_of(".[", pos_);
    if (end == std::string_view::npos) end = path_.size();
    if (end == pos_) return invalid_argument(fmt::format("empty key at offset {}", pos_));
    std::string k(path_.substr(pos_, end - pos_));
    pos_ = end;
    return k;
  }

  std::string where() const { return walked_.empty() ? "the snapshot" : walked_; }

  Status enter_key(const std::string& k) {
    if (!cur_->is_object())
      return not_found(fmt::format("{} is {}, not an object (looking for '{}')", where(),
                                   cur_->type_name(), k));
    auto it = cur_->find(k);
    if (it == cur_->end())
      return not_found(fmt::format("no key '{}' in {} ({})", k, where(), keys_of(*cur_)));
    cur_ = &*it;
    walked_ += (walked_.empty() ? "" : ".") + k;
    return {};
  }

  Status enter_index() {
    size_t close = path_.find(']', pos_);
    if (close == std::string_view::npos)
      return invalid_argument(fmt::format("'[' at offset {} is not closed", pos_));
    std::string_view digits = path_.substr(pos_ + 1, close - pos_ - 1);
    if (digits.empty() || digits.size() > 9 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return invalid_argument(fmt::format("[{}] is not a list index", digits));
    const size_t i = std::stoul(std::string(digits));
    if (!cur_->is_array())
      return not_found(fmt::format("{} is {}, not a list (indexing [{}])", where(),
                                   cur_->type_name(), i));
    if (i >= cur_->size())
      return not_found(fmt::format("index [{}] out of range: {} has {} elements", i, where(),
                                   cur_->size()));
    cur_ = &(*cur_)[i];
    walked_ += fmt::format("[{}]", i);
    pos_ = close + 1;
    return {};
  }

  // After "maps": "[SEL]" or ".NAME..." (longest dotted prefix that selects
  // a map); then into the map's value, skipping an optional ".value".
  Status enter_map() {
    const json& maps = *cur_;
    std::string key;
    if (path_[pos_] == '[') {
      size_t close = path_.find(']', pos_);
      if (close == std::string_view::npos)
        return invalid_argument(fmt::format("'[' at offset {} is not closed", pos_));
      KTSTR_ASSIGN(key, select_map(maps, path_.substr(pos_ + 1, close - pos_ - 1)));
      walked_ = fmt::format("maps[{}]", path_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
    } else if (path_[pos_] == '.') {
      const size_t start = pos_ + 1;
      size_t limit = path_.find('[', start);
      if (limit == std::string_view::npos) limit = path_.size();
      // Candidate ends: each '.' before `limit`, and `limit`; longest first.
      std::vector<size_t> ends{limit};
      for (size_t i = limit; i-- > start;)
        if (path_[i] == '.') ends.push_back(i);
      std::optional<Error> first_error;
      for (size_t end : ends) {
        auto sel = select_map(maps, path_.substr(start, end - start));
        if (sel.ok()) {
          key = *sel;
          walked_ = fmt::format("maps.{}", path_.substr(start, end - start));
          pos_ = end;
          break;
        }
        if (sel.error().code() == Errc::kInvalidArgument) return std::move(sel).error();
        if (!first_error) first_error = std::move(sel).error();
      }
      if (key.empty()) {
        if (first_error) return std::move(*first_error);
        return not_found("no map selected");
      }
    } else {
      return invalid_argument("expected '[' or '.' after maps");
    }
    const json& map = maps.at(key);
    if (!map.is_object() || !map.contains("value"))
      return not_found(fmt::format("{} has no value", walked_));
    cur_ = &map.at("value");
    constexpr std::string_view kValue = ".value";
    if (path_.substr(pos_).starts_with(kValue) &&
        (pos_ + kValue.size() == path_.size() || path_[pos_ + kValue.size()] == '.' ||
         path_[pos_ + kValue.size()] == '[') &&
        !(cur_->is_object() && cur_->contains("value")))
      pos_ += kValue.size();
    return {};
  }

  const json* cur_;
  std::string_view path_;
  size_t pos_ = 0;
  std::string walked_;
};

// One judged point of the series.
struct Point {
  const Snapshot* snap;
  json value;
};

std::optional<double> number(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_boolean()) return v.get<bool>() ? 1.0 : 0.0;
  return std::nullopt;
}

std::string show(const json& v) {
  std::string s = v.dump();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

std::string at(const Snapshot& s) { return fmt::format("'{}' (step {})", s.name, s.step); }

bool compare(double a, CompareOp op, double b) {
  switch (op) {
    case CompareOp::kEq: return a == b;
    case CompareOp::kNe: return a != b;
    case CompareOp::kLt: return a < b;
    case CompareOp::kLe: return a <= b;
    case CompareOp::kGt: return a > b;
    case CompareOp::kGe: return a >= b;
  }
  return false;
}

// nullopt = holds; else why not.
std::optional<std::string> check_op(const json& v, CompareOp op, const scenario::AssertValue& want) {
  const std::string opname(to_string(op));
  if (const double* d = std::get_if<double>(&want)) {
    auto n = number(v);
    if (!n) return fmt::format("{} is not a number", show(v));
    if (compare(*n, op, *d)) return std::nullopt;
    return fmt::format("{} is not {} {}", show(v), opname, scenario::to_string(want));
  }
  if (op != CompareOp::kEq && op != CompareOp::kNe)
    return fmt::format("{} orders numbers only", opname);
  bool equal = false;
  if (const bool* b = std::get_if<bool>(&want)) {
    auto n = number(v);
    if (!n) return fmt::format("{} is not a boolean", show(v));
    equal = (*n != 0) == *b;
  } else {
    if (!v.is_string()) return fmt::format("{} is not a string", show(v));
    equal = v.get<std::string>() == std::get<std::string>(want);
  }
  if (equal == (op == CompareOp::kEq)) return std::nullopt;
  return fmt::format("{} is not {} {}", show(v), opname, scenario::to_string(want));
}

std::string num_text(double v) { return fmt::format("{}", v); }

std::string form_of(const scenario::SnapshotAssertion& a) {
  std::string s;
  if (a.kind) s = std::string(to_string(*a.kind));
  if (a.op) s += (s.empty() ? "" : " ") + std::string(to_string(*a.op));
  if (a.value) s += " " + scenario::to_string(*a.value);
  if (!a.path2.empty()) s += " / " + a.path2;
  if (a.min) s += " min " + num_text(*a.min);
  if (a.max) s += " max " + num_text(*a.max);
  if (a.band) s += " band " + num_text(*a.band);
  if (a.tolerance) s += " tolerance " + num_text(*a.tolerance);
  return s;
}

// Snapshots named `name`: exact, else "name#N" captures.
std::vector<const Snapshot*> named(const std::vector<Snapshot>& all, const std::string& name) {
  std::vector<const Snapshot*> out;
  for (const auto& s : all)
    if (s.name == name) out.push_back(&s);
  if (out.empty() && name.find('#') == std::string::npos)
    for (const auto& s : all)
      if (s.name.starts_with(name + "#")) out.push_back(&s);
  return out;
}

std::string names_of(const std::vector<Snapshot>& all) {
  if (all.empty()) return "no snapshots were taken";
  std::string out = "snapshots: ";
  for (size_t i = 0; i < all.size() && i < kMaxKeysShown; ++i)
    out += (i ? ", " : "") + all[i].name;
  if (all.size() > kMaxKeysShown) out += fmt::format(", … {} more", all.size() - kMaxKeysShown);
  return out;
}

Result<std::vector<const Snapshot*>> select(const scenario::SnapshotAssertion& a,
                                            const std::vector<Snapshot>& all) {
  std::vector<const Snapshot*> out;
  if (!a.series.empty()) {
    if (a.series != scenario::kPeriodicSeries)
      return invalid_argument(fmt::format("unknown series '{}'", a.series));
    for (const auto& s : all)
      if (s.trigger == Trigger::kPeriodic) out.push_back(&s);
    std::stable_sort(out.begin(), out.end(),
                     [](const Snapshot* x, const Snapshot* y) { return x->t_ms < y->t_ms; });
    if (out.empty()) return not_found("no periodic snapshots were taken");
    return out;
  }
  if (!a.snapshots.empty()) {
    for (const auto& name : a.snapshots) {
      auto hits = named(all, name);
      if (hits.empty())
        return not_found(fmt::format("no snapshot named '{}' ({})", name, names_of(all)));
      out.push_back(hits.front());
    }
    return out;
  }
  if (a.snapshot.empty()) return invalid_argument("names no snapshots");
  out = named(all, a.snapshot);
  if (out.empty())
    return not_found(fmt::format("no snapshot named '{}' ({})", a.snapshot, names_of(all)));
  return out;
}

// Workload time between two snapshots in seconds (host time if unknown).
double seconds_between(const Snapshot& first, const Snapshot& last) {
  if (first.workload_ms != 0 && last.workload_ms != 0)
    return (static_cast<double>(last.workload_ms) - static_cast<double>(first.workload_ms)) / 1000.0;
  return (static_cast<double>(last.t_ms) - static_cast<double>(first.t_ms)) / 1000.0;
}

std::string range_text(const scenario::SnapshotAssertion& a) {
  if (a.min && a.max) return fmt::format("[{}, {}]", num_text(*a.min), num_text(*a.max));
  if (a.min) return ">= " + num_text(*a.min);
  if (a.max) return "<= " + num_text(*a.max);
  return "any";
}

bool in_range(const scenario::SnapshotAssertion& a, double v) {
  return (!a.min || v >= *a.min) && (!a.max || v <= *a.max);
}

// The kinds, over resolved points. nullopt = pass; else the failure text.
class Judge {
 public:
  Judge(const scenario::SnapshotAssertion& a, std::vector<Point>& pts, json& detail)
      : a_(a), pts_(pts), detail_(detail) {}

  std::optional<std::string> run() {
    if (!a_.kind) {
      if (!a_.op || !a_.value) return "needs op and value";
      return always(*a_.op, *a_.value);
    }
    switch (*a_.kind) {
      case AssertKind::kAlways:
        if (!a_.op || !a_.value) return "needs op and value";
        return always(*a_.op, *a_.value);
      case AssertKind::kNonDecreasing: return monotonic(true);
      case AssertKind::kNonIncreasing: return monotonic(false);
      case AssertKind::kRate: return rate();
      case AssertKind::kSteady: return steady();
      case AssertKind::kConverges: return converges();
      case AssertKind::kRatio: return ratio();
    }
    return "unknown kind";
  }

 private:
  Result<std::vector<double>> numbers() {
    std::vector<double> out;
    for (const auto& p : pts_) {
      auto n = number(p.value);
      if (!n) return invalid_argument(fmt::format("{} at {} is not a number", show(p.value), at(*p.snap)));
      out.push_back(*n);
    }
    return out;
  }

  std::optional<std::string> always(CompareOp op, const scenario::AssertValue& want) {
    for (const auto& p : pts_)
      if (auto why = check_op(p.value, op, want)) return *why + " at " + at(*p.snap);
    return std::nullopt;
  }

  // non_decreasing (up) or non_increasing (!up).
  std::optional<std::string> monotonic(bool up) {
    auto v = numbers();
    if (!v.ok()) return v.error().message();
    for (size_t i = 1; i < v->size(); ++i)
      if (up ? (*v)[i] < (*v)[i - 1] : (*v)[i] > (*v)[i - 1])
        return fmt::format("{} at {} {} {} at '{}'", show(pts_[i].value), at(*pts_[i].snap),
                           up ? "<" : ">", show(pts_[i - 1].value), pts_[i - 1].snap->name);
    return std::nullopt;
  }

  std::optional<std::string> rate() {
    auto v = numbers();
    if (!v.ok()) return v.error().message();
    if (v->size() < 2) return fmt::format("needs two snapshots, got {}", v->size());
    const Snapshot& first = *pts_.front().snap;
    const Snapshot& last = *pts_.back().snap;
    const double secs = seconds_between(first, last);
    if (!(secs > 0))
      return fmt::format("no time passed between '{}' and '{}' ({} s)", first.name, last.name,
                         num_text(secs));
    const double r = (v->back() - v->front()) / secs;
    detail_["rate_per_s"] = r;
    detail_["seconds"] = secs;
    if (in_range(a_, r)) return std::nullopt;
    return fmt::format("rate {}/s ({} -> {} over {} s, '{}' -> '{}') is not {}", num_text(r),
                       num_text(v->front()), num_text(v->back()), num_text(secs), first.name,
                       last.name, range_text(a_));
  }

  std::optional<std::string> steady() {
    auto v = numbers();
    if (!v.ok()) return v.error().message();
    auto [lo, hi] = std::minmax_element(v->begin(), v->end());
    const double spread = *hi - *lo;
    detail_["spread"] = spread;
    if (spread <= a_.band.value_or(0)) return std::nullopt;
    const size_t ilo = static_cast<size_t>(lo - v->begin());
    const size_t ihi = static_cast<size_t>(hi - v->begin());
    return fmt::format("spread {} > band {}: min {} at {}, max {} at {}", num_text(spread),
                       num_text(a_.band.value_or(0)), num_text(*lo), at(*pts_[ilo].snap),
                       num_text(*hi), at(*pts_[ihi].snap));
  }

  std::optional<std::string> converges() {
    auto v = numbers();
    if (!v.ok()) return v.error().message();
    const double* target = a_.value ? std::get_if<double>(&*a_.value) : nullptr;
    if (target == nullptr) return "needs a numeric value";
    const double last = v->back();
    const double off = std::fabs(last - *target);
    detail_["last"] = last;
    if (off <= a_.tolerance.value_or(0)) return std::nullopt;
    return fmt::format("last value {} at {} is {} from {} (tolerance {})", num_text(last),
                       at(*pts_.back().snap), num_text(off), num_text(*target),
                       num_text(a_.tolerance.value_or(0)));
  }

  std::optional<std::string> ratio() {
    json ratios = json::array();
    for (auto& p : pts_) {
      auto num = number(p.value);
      if (!num) return fmt::format("{} at {} is not a number", show(p.value), at(*p.snap));
      auto den_json = resolve_path(p.snap->to_json(), a_.path2);
      if (!den_json.ok())
        return fmt::format("path2 '{}' at '{}': {}", a_.path2, p.snap->name,
                           den_json.error().message());
      auto den = number(*den_json);
      if (!den) return fmt::format("path2 {} at {} is not a number", show(*den_json), at(*p.snap));
      if (*den == 0)
        return fmt::format("path2 {} is 0 at {}: ratio undefined", a_.path2, at(*p.snap));
      const double r = *num / *den;
      ratios.push_back(r);
      if (!in_range(a_, r))
        return fmt::format("ratio {} ({} / {}) at {} is not {}", num_text(r), num_text(*num),
                           num_text(*den), at(*p.snap), range_text(a_));
    }
    detail_["ratios"] = std::move(ratios);
    return std::nullopt;
  }

  const scenario::SnapshotAssertion& a_;
  std::vector<Point>& pts_;
  json& detail_;
};

}  // namespace

Result<json> resolve_path(const json& snapshot, std::string_view path) {
  return PathWalker(snapshot, path).run();
}

AssertionResult evaluate_assertion(const scenario::SnapshotAssertion& a,
                                   const std::vector<Snapshot>& snapshots, size_t index) {
  AssertionResult r;
  const std::string label = fmt::format("assert[{}] {} {}", index, a.path, form_of(a));
  r.detail = {{"assert", scenario::describe(a)}, {"path", a.path}, {"series", json::array()}};
  auto fail = [&](const std::string& why) {
    r.passed = false;
    r.message = label + " failed: " + why;
    r.detail["passed"] = false;
    r.detail["reason"] = why;
    return r;
  };

  auto selected = select(a, snapshots);
  if (!selected.ok()) return fail(selected.error().message());
  std::vector<Point> points;
  for (const Snapshot* s : *selected) {
    auto v = resolve_path(s->to_json(), a.path);
    if (!v.ok())
      return fail(fmt::format("path '{}' at '{}': {}", a.path, s->name, v.error().message()));
    r.detail["series"].push_back({{"snapshot", s->name},
                                  {"step", s->step},
                                  {"t_ms", s->t_ms},
                                  {"workload_ms", s->workload_ms},
                                  {"value", *v}});
    points.push_back({s, std::move(v).value()});
  }
  if (auto why = Judge(a, points, r.detail).run()) return fail(*why);
  r.passed = true;
  r.detail["passed"] = true;
  r.message = fmt::format("{} passed ({} snapshot{})", label, points.size(),
                          points.size() == 1 ? "" : "s");
  return r;
}

std::vector<AssertionResult> evaluate_assertions(std::span<const scenario::SnapshotAssertion> asserts,
                                                 const std::vector<Snapshot>& snapshots) {
  std::vector<AssertionResult> out;
  out.reserve(asserts.size());
  for (size_t i = 0; i < asserts.size(); ++i)
    out.push_back(evaluate_assertion(asserts[i], snapshots, i));
  return out;
}

}  // namespace ktstr::freeze
