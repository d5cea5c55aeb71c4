// Reading [[assert]] tables: typed reading here, then the structural and
// reference checks of assertion.h, each reported at the key at fault.
#include <cmath>

#include "scenario/detail/parse_parts.h"

namespace ktstr::scenario::detail {

namespace {

// Any finite number (integers too); nullopt when absent or invalid (reported).
std::optional<double> finite_number(TableReader& r, std::string_view key) {
  const toml::node* n = r.get(key);
  if (!n) return std::nullopt;
  double v = 0;
  if (n->is_integer()) {
    v = static_cast<double>(n->as_integer()->get());
  } else if (n->is_floating_point()) {
    v = n->as_floating_point()->get();
  } else {
    r.error(key, "is " + std::string(type_name(*n)) + "; write a number");
    return std::nullopt;
  }
  if (!std::isfinite(v)) {
    r.error(key, "is not finite; write a finite number");
    return std::nullopt;
  }
  return v;
}

std::optional<AssertValue> read_value(TableReader& r) {
  const toml::node* n = r.get("value");
  if (!n) return std::nullopt;
  if (n->is_integer()) return AssertValue(static_cast<double>(n->as_integer()->get()));
  if (n->is_floating_point()) {
    double v = n->as_floating_point()->get();
    if (!std::isfinite(v)) {
      r.error("value", "is not finite; write a finite number");
      return std::nullopt;
    }
    return AssertValue(v);
  }
  if (n->is_boolean()) return AssertValue(n->as_boolean()->get());
  if (n->is_string()) return AssertValue(n->as_string()->get());
  r.error("value", "is " + std::string(type_name(*n)) + "; write a number, true/false or a string");
  return std::nullopt;
}

std::vector<std::string> read_names(TableReader& r, std::string_view key) {
  std::vector<std::string> out;
  const toml::node* n = r.get(key);
  if (!n) return out;
  const auto* arr = n->as_array();
  bool ok = arr && !arr->empty() && arr->is_homogeneous(toml::node_type::string);
  if (!ok) {
    r.error(key, "must be a non-empty array of snapshot names, e.g. [\"before\", \"after\"]");
    return out;
  }
  for (const auto& a : *arr) out.push_back(a.as_string()->get());
  return out;
}

}  // namespace

std::optional<SnapshotAssertion> read_assert(Diagnostics& d, const toml::node& node,
                                             const std::string& path,
                                             const AssertionContext& ctx) {
  const auto* t = node.as_table();
  if (!t) {
    d.error(where(node), path,
            "is " + std::string(type_name(node)) +
                "; write an [[assert]] table with a snapshot source, a path and a check");
    return std::nullopt;
  }
  const size_t errors_before = d.count();
  TableReader r(d, *t, path);
  SnapshotAssertion a;
  if (auto v = r.string("snapshot")) a.snapshot = *v;
  a.snapshots = read_names(r, "snapshots");
  if (auto v = r.string("series")) a.series = *v;
  if (auto v = r.string("path")) a.path = *v;
  if (auto v = r.string("path2")) a.path2 = *v;
  a.op = r.parsed<CompareOp>("op", &parse_compare_op);
  a.kind = r.parsed<AssertKind>("kind", &parse_assert_kind);
  a.value = read_value(r);
  a.min = finite_number(r, "min");
  a.max = finite_number(r, "max");
  a.band = finite_number(r, "band");
  a.tolerance = finite_number(r, "tolerance");
  r.finish();
  // Checks on a half-read table would only repeat the errors above.
  if (d.count() != errors_before) return std::nullopt;
  for (const auto& p : check_assertion(a, ctx)) {
    if (p.key.empty())
      d.error(where(*t), path, p.what);
    else
      r.error(p.key, p.what);
  }
  return a;
}

}  // namespace ktstr::scenario::detail
