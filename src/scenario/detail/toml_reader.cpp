#include "scenario/detail/toml_reader.h"

#include <algorithm>
#include <cmath>

namespace ktstr::scenario::detail {

namespace {

std::string fmt_number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<int64_t>(v));
  std::string s = std::to_string(v);
  while (s.size() > 1 && s.back() == '0') s.pop_back();
  return s;
}

}  // namespace

Where where(const toml::node& n) { return {n.source().begin.line, n.source().begin.column}; }
Where where(const toml::key& k) { return {k.source().begin.line, k.source().begin.column}; }

void Diagnostics::error(Where at, std::string_view field, std::string_view what) {
  lines_.push_back({at, file_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.col) +
                            ": field '" + std::string(field) + "': " + std::string(what)});
}

void Diagnostics::syntax_error(Where at, std::string_view what) {
  lines_.push_back({at, file_ + ":" + std::to_string(at.line) + ":" + std::to_string(at.col) +
                            ": TOML syntax error: " + std::string(what)});
}

std::string Diagnostics::joined() const {
  // By position, ties in report order. (std::sort on an index: clang warns
  // about libstdc++ 12's stable_sort internals.)
  std::vector<size_t> order(lines_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Where &x = lines_[a].at, &y = lines_[b].at;
    if (x.line != y.line) return x.line < y.line;
    return x.col != y.col ? x.col < y.col : a < b;
  });
  std::vector<Line> sorted;
  for (size_t i : order) sorted.push_back(lines_[i]);
  std::string out;
  for (const auto& l : sorted) out += (out.empty() ? "" : "\n") + l.text;
  return out;
}

std::string join_path(std::string_view base, std::string_view key) {
  return base.empty() ? std::string(key) : std::string(base) + "." + std::string(key);
}

std::string index_path(std::string_view base, size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

std::string_view type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    default: return "a date/time";
  }
}

const toml::node* TableReader::get(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
  return table_.get(key);
}

void TableReader::missing(std::string_view key, std::string_view hint) {
  diags_.error(where(), field(key), "missing; " + std::string(hint));
}

void TableReader::error(std::string_view key, std::string_view what) {
  const toml::node* n = table_.get(key);
  diags_.error(n ? detail::where(*n) : where(), field(key), what);
}

void TableReader::error_at(const toml::node& n, std::string_view key, std::string_view what) {
  diags_.error(detail::where(n), field(key), what);
}

std::optional<std::string> TableReader::string(std::string_view key, const char* required_hint) {
  const toml::node* n = get(key);
  if (!n) {
    if (required_hint) missing(key, required_hint);
    return std::nullopt;
  }
  if (!n->is_string()) {
    error(key, "is " + std::string(type_name(*n)) + "; write a quoted string");
    return std::nullopt;
  }
  return n->as_string()->get();
}

std::optional<int64_t> TableReader::integer(std::string_view key, int64_t min, int64_t max,
                                            const char* required_hint) {
  const toml::node* n = get(key);
  if (!n) {
    if (required_hint) missing(key, required_hint);
    return std::nullopt;
  }
  if (!n->is_integer()) {
    error(key, "is " + std::string(type_name(*n)) + "; write a whole number from " +
                   std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  int64_t v = n->as_integer()->get();
  if (v < min || v > max) {
    error(key, std::to_string(v) + " is out of range; use " + std::to_string(min) + ".." +
                   std::to_string(max));
    return std::nullopt;
  }
  return v;
}

std::optional<double> TableReader::number(std::string_view key, double min, double max,
                                          const char* required_hint) {
  const toml::node* n = get(key);
  if (!n) {
    if (required_hint) missing(key, required_hint);
    return std::nullopt;
  }
  double v = 0;
  if (n->is_integer()) {
    v = static_cast<double>(n->as_integer()->get());
  } else if (n->is_floating_point()) {
    v = n->as_floating_point()->get();
  } else {
    error(key, "is " + std::string(type_name(*n)) + "; write a number from " + fmt_number(min) +
                   " to " + fmt_number(max));
    return std::nullopt;
  }
  if (!std::isfinite(v) || v < min || v > max) {
    error(key, (std::isfinite(v) ? fmt_number(v) : std::string("a non-finite number")) +
                   " is out of range; use " + fmt_number(min) + " to " + fmt_number(max));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> TableReader::boolean(std::string_view key) {
  const toml::node* n = get(key);
  if (!n) return std::nullopt;
  if (!n->is_boolean()) {
    error(key, "is " + std::string(type_name(*n)) + "; write true or false");
    return std::nullopt;
  }
  return n->as_boolean()->get();
}

void TableReader::finish() {
  for (auto&& [k, v] : table_) {
    if (std::find(known_.begin(), known_.end(), k.str()) != known_.end()) continue;
    std::string known;
    for (const auto& s : known_) known += (known.empty() ? "" : ", ") + s;
    std::string near = closest(k.str(), known_);
    std::string what = "unknown key; " + (near.empty() ? std::string() : "did you mean '" + near + "'? ") +
                       "known keys here: " + known;
    diags_.error(detail::where(k), field(k.str()), what);
  }
}

}  // namespace ktstr::scenario::detail
