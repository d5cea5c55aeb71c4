#include "scenario/toml_parser.h"

#include <cmath>
#include <set>

#include "scenario/detail/parse_parts.h"
#include "util/files.h"

namespace ktstr::scenario {

namespace {

using detail::Diagnostics;
using detail::ParseState;
using detail::TableReader;

constexpr size_t kMaxDescription = 200;

void read_requirements(TableReader& root, ParseState& st) {
  const toml::node* n = root.get("requires");
  if (!n) return;
  const auto* t = n->as_table();
  if (!t) {
    root.error("requires", "is " + std::string(detail::type_name(*n)) +
                               "; write a table: [requires] with min_cpus, min_llcs, "
                               "min_numa_nodes, smt");
    return;
  }
  TableReader r(root.diags(), *t, root.field("requires"));
  const auto max = static_cast<int64_t>(topo::kMaxVmCpus);
  if (auto v = r.integer("min_cpus", 0, max)) st.req.min_cpus = static_cast<uint32_t>(*v);
  if (auto v = r.integer("min_llcs", 0, max)) st.req.min_llcs = static_cast<uint32_t>(*v);
  if (auto v = r.integer("min_numa_nodes", 0, topo::kMaxNumaNodes))
    st.req.min_numa_nodes = static_cast<uint32_t>(*v);
  if (auto v = r.boolean("smt")) st.req.smt = *v;
  r.finish();
}

std::map<std::string, double> read_thresholds(TableReader& root) {
  std::map<std::string, double> out;
  const toml::node* n = root.get("thresholds");
  if (!n) return out;
  const auto* t = n->as_table();
  if (!t) {
    root.error("thresholds", "is " + std::string(detail::type_name(*n)) +
                                 "; write a table: [thresholds] with check = value lines");
    return out;
  }
  std::string known;
  std::vector<std::string> keys;
  for (auto k : known_threshold_keys()) {
    known += (known.empty() ? "" : ", ") + std::string(k);
    keys.emplace_back(k);
  }
  const std::string path = root.field("thresholds");
  for (auto&& [k, v] : *t) {
    const std::string field = detail::join_path(path, k.str());
    if (!is_known_threshold(k.str())) {
      std::string near = detail::closest(k.str(), keys);
      root.diags().error(detail::where(k), field,
                         "unknown threshold; " +
                             (near.empty() ? std::string() : "did you mean '" + near + "'? ") +
                             "known: " + known);
      continue;
    }
    double value = 0;
    if (v.is_integer()) {
      value = static_cast<double>(v.as_integer()->get());
    } else if (v.is_floating_point()) {
      value = v.as_floating_point()->get();
    } else if (v.is_boolean()) {
      value = v.as_boolean()->get() ? 1.0 : 0.0;
    } else {
      root.diags().error(detail::where(v), field,
                         "is " + std::string(detail::type_name(v)) +
                             "; write a number (or true/false for on/off checks)");
      continue;
    }
    if (!std::isfinite(value) || value < 0) {
      root.diags().error(detail::where(v), field, "must be a finite number >= 0");
      continue;
    }
    out[std::string(k.str())] = value;
  }
  return out;
}

// An array of tables under `key` ([[key]] or key = [ {...} ]).
const toml::array* table_array(TableReader& r, std::string_view key, std::string_view example) {
  const toml::node* n = r.get(key);
  if (!n) return nullptr;
  const auto* arr = n->as_array();
  if (!arr) {
    r.error(key, "is " + std::string(detail::type_name(*n)) + "; write " + std::string(example));
    return nullptr;
  }
  return arr;
}

Scenario read_scenario(Diagnostics& d, const toml::table& t, const std::string& path) {
  TableReader r(d, t, path);
  ParseState st;
  Scenario s;
  if (auto name = r.string("name", "add name = \"my_scenario\" (letters, digits, '_', '.', '-')")) {
    if (auto ok = check_name(*name, "scenario name"); !ok.ok()) r.error("name", ok.error().message());
    s.name = *name;
  }
  if (auto c = r.parsed<Category>("category", &parse_category,
                                  "add category = \"basic\" (basic, cpuset, dynamic, stress, "
                                  "interaction, affinity, nested, performance)"))
    s.category = *c;
  if (auto desc = r.string("description",
                           "add description = \"...\" (one line: the condition it tests)")) {
    std::string_view text = trim(*desc);
    if (text.empty())
      r.error("description", "is empty; say in one line which condition the scenario tests");
    else if (text.find_first_of("\r\n") != std::string_view::npos)
      r.error("description", "spans several lines; keep it to one line");
    else if (text.size() > kMaxDescription)
      r.error("description", "is " + std::to_string(text.size()) + " characters; keep it under " +
                                 std::to_string(kMaxDescription));
    s.description = std::string(text);
  }
  if (auto secs = r.number("duration_s", 0.001, 86400))
    s.duration_ms = static_cast<uint32_t>(std::llround(*secs * 1000));
  if (auto n = r.integer("snapshots", 0, kMaxPeriodicSnapshots))
    s.snapshots = static_cast<uint32_t>(*n);

  read_requirements(r, st);
  s.requirements = st.req;
  s.thresholds = read_thresholds(r);

  if (const auto* bd = table_array(r, "backdrop", "[[backdrop]] tables, one per cgroup")) {
    for (size_t i = 0; i < bd->size(); ++i)
      if (auto def = detail::read_cgroup(d, *bd->get(i), detail::index_path(r.field("backdrop"), i),
                                         "", detail::CgroupOrigin::kBackdrop, st))
        s.backdrop.push_back(std::move(*def));
  }

  double fractions = 0;
  if (const auto* steps = table_array(r, "step", "[[step]] tables, each with ops and a hold")) {
    for (size_t i = 0; i < steps->size(); ++i) {
      const std::string spath = detail::index_path(r.field("step"), i);
      const auto* st_table = steps->get(i)->as_table();
      if (!st_table) {
        d.error(detail::where(*steps->get(i)), spath,
                "is " + std::string(detail::type_name(*steps->get(i))) +
                    "; write a [[step]] table with ops and a hold");
        continue;
      }
      TableReader sr(d, *st_table, spath);
      Step step;
      auto hold = detail::read_hold(sr, "hold");
      if (hold) {
        step.hold = *hold;
        bool by_fraction = hold->kind == Hold::Kind::kFraction ||
                           (hold->kind == Hold::Kind::kLoop && hold->duration_ms == 0);
        if (by_fraction) {
          fractions += hold->fraction;
          if (fractions > 1.0 + 1e-9)
            sr.error("hold", "step holds so far add up to " + std::to_string(fractions) +
                                 " of duration_s; fractions must sum to at most 1");
        }
      }
      const bool in_loop = hold && hold->kind == Hold::Kind::kLoop;
      if (const auto* ops = table_array(sr, "ops", "ops = [ { op = \"spawn\", ... }, ... ]")) {
        for (size_t j = 0; j < ops->size(); ++j)
          if (auto op = detail::read_op(d, *ops->get(j), detail::index_path(sr.field("ops"), j),
                                        in_loop, st))
            step.ops.push_back(std::move(*op));
      }
      sr.finish();
      s.steps.push_back(std::move(step));
    }
  }
  if (const auto* asserts = table_array(r, "assert", "[[assert]] tables, one per check")) {
    const AssertionContext ctx = assertion_context(s);
    for (size_t i = 0; i < asserts->size(); ++i)
      if (auto a = detail::read_assert(d, *asserts->get(i), detail::index_path(r.field("assert"), i), ctx))
        s.asserts.push_back(std::move(*a));
  }
  r.finish();
  if (!st.runs_load)
    d.error(r.where(), path.empty() ? "backdrop" : detail::join_path(path, "backdrop"),
            "the scenario runs nothing; add a [[backdrop]] cgroup or an add-cgroup / spawn-host "
            "op");
  return s;
}

}  // namespace

Result<std::vector<Scenario>> parse_scenarios_text(std::string_view text,
                                                   std::string_view virtual_name) {
  Diagnostics d{std::string(virtual_name)};
  toml::table root;
  try {
    root = toml::parse(text, std::string_view(virtual_name));
  } catch (const toml::parse_error& e) {
    d.syntax_error({e.source().begin.line, e.source().begin.column},
                   std::string(e.description()) + "; fix the TOML syntax");
    return invalid_argument(d.joined());
  }
  std::vector<Scenario> out;
  const toml::node* many = root.get("scenario");
  if (many) {
    TableReader r(d, root, "");
    const auto* arr = table_array(r, "scenario", "[[scenario]] tables, one per scenario");
    r.finish();
    if (arr && arr->empty())
      r.error("scenario", "is empty; add at least one [[scenario]] table");
    std::set<std::string> names;
    for (size_t i = 0; arr && i < arr->size(); ++i) {
      const std::string path = detail::index_path("scenario", i);
      const auto* t = arr->get(i)->as_table();
      if (!t) {
        d.error(detail::where(*arr->get(i)), path, "is not a table; write [[scenario]] tables");
        continue;
      }
      Scenario s = read_scenario(d, *t, path);
      if (!s.name.empty() && !names.insert(s.name).second)
        d.error(detail::where(*t->get("name")), detail::join_path(path, "name"),
                "scenario '" + s.name + "' appears twice in this file; rename one");
      out.push_back(std::move(s));
    }
  } else {
    out.push_back(read_scenario(d, root, ""));
  }
  if (!d.empty()) return invalid_argument(d.joined());
  return out;
}

Result<std::vector<Scenario>> parse_scenarios_file(const std::filesystem::path& path) {
  KTSTR_ASSIGN(std::string text, read_file(path), "reading scenario file " + path.string());
  return parse_scenarios_text(text, path.string());
}

namespace {
Result<Scenario> exactly_one(Result<std::vector<Scenario>> all, std::string_view name) {
  if (!all.ok()) return std::move(all).error();
  if (all->size() != 1) {
    std::string names;
    for (const auto& s : *all) names += (names.empty() ? "" : ", ") + s.name;
    return invalid_argument(std::string(name) + " holds " + std::to_string(all->size()) +
                            " scenarios (" + names + "); pick one by name from the catalog");
  }
  return std::move(all->front());
}
}  // namespace

Result<Scenario> parse_scenario_text(std::string_view text, std::string_view virtual_name) {
  return exactly_one(parse_scenarios_text(text, virtual_name), virtual_name);
}

Result<Scenario> parse_scenario_file(const std::filesystem::path& path) {
  return exactly_one(parse_scenarios_file(path), path.string());
}

}  // namespace ktstr::scenario
