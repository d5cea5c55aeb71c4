// Reading cgroup definitions and work specs from scenario files, plus the
// [requires] coverage checks for topology-dependent values.
#include <algorithm>
#include <cmath>
#include <limits>

#include "scenario/detail/parse_parts.h"
#include "util/files.h"

namespace ktstr::scenario::detail {

namespace {

using workload::WorkSpec;

// A WorkSpec parameter as written in files. Only the type is checked here;
// workload::validate() judges the values the work type reads.
struct Param {
  std::string_view key;
  uint32_t WorkSpec::*member;
};

constexpr Param kParams[] = {
    {"spin_iters", &WorkSpec::spin_iters}, {"io_bytes", &WorkSpec::io_bytes},
    {"sleep_us", &WorkSpec::sleep_us},     {"burst_ms", &WorkSpec::burst_ms},
    {"sleep_ms", &WorkSpec::sleep_ms},     {"iters", &WorkSpec::iters},
    {"buffer_kib", &WorkSpec::buffer_kib}, {"stride", &WorkSpec::stride},
    {"fan_out", &WorkSpec::fan_out},       {"ops", &WorkSpec::ops},
    {"region_kib", &WorkSpec::region_kib}, {"contenders", &WorkSpec::contenders},
};

std::optional<workload::Phase> read_phase(Diagnostics& d, const toml::node& n,
                                          const std::string& path) {
  const auto* t = n.as_table();
  if (!t) {
    d.error(where(n), path,
            "is " + std::string(type_name(n)) + "; write { kind = \"spin\", ms = 10 }");
    return std::nullopt;
  }
  TableReader r(d, *t, path);
  workload::Phase p;
  bool ok = true;
  if (auto kind = r.string("kind", "add kind = \"spin\" (spin, sleep, yield or io)")) {
    auto k = workload::parse_phase_kind(*kind);
    if (k.ok())
      p.kind = *k;
    else {
      r.error("kind", k.error().message());
      ok = false;
    }
  } else {
    ok = false;
  }
  if (auto ms = r.integer("ms", 1, 60'000, "add ms = 10 (how long the phase lasts)"))
    p.duration_ms = static_cast<uint32_t>(*ms);
  else
    ok = false;
  r.finish();
  return ok ? std::optional(p) : std::nullopt;
}

}  // namespace

void need(TableReader& r, std::string_view key, ParseState& st, std::string_view what,
          uint32_t cpus, uint32_t llcs, uint32_t nodes) {
  // Every topology has at least one CPU, LLC and node.
  auto require = [&](uint32_t n, uint32_t have, std::string_view req, std::string_view unit) {
    if (n <= std::max(have, 1u)) return;
    r.error(key, std::string(what) + " needs " + std::to_string(n) + " " + std::string(unit) +
                     "; add [requires] " + std::string(req) + " = " + std::to_string(n) +
                     " so smaller topologies skip this scenario");
  };
  require(cpus, st.req.min_cpus, "min_cpus", "CPUs");
  require(llcs, st.req.min_llcs, "min_llcs", "LLCs");
  require(nodes, st.req.min_numa_nodes, "min_numa_nodes", "NUMA nodes");
}

void need_cpuset(TableReader& r, std::string_view key, ParseState& st,
                 const topo::CpusetSpec& spec) {
  using K = topo::CpusetSpec::Kind;
  const std::string what = "cpuset '" + spec.to_string() + "'";
  switch (spec.kind) {
    case K::kLlc: return need(r, key, st, what, 0, spec.index + 1, 0);
    case K::kNuma: return need(r, key, st, what, 0, 0, spec.index + 1);
    case K::kRange: return need(r, key, st, what, spec.last + 1, 0, 0);
    case K::kFractionRange: {
      // A width w selects at least one CPU once w * cpus >= 1.
      double w = spec.to - spec.from;
      auto cpus = static_cast<uint32_t>(std::ceil(1.0 / w - 1e-9));
      return need(r, key, st, what, cpus, 0, 0);
    }
    case K::kDisjoint:
    case K::kOverlap: return need(r, key, st, what, spec.parts, 0, 0);
    case K::kExact: return need(r, key, st, what, spec.cpus.last().value_or(0) + 1, 0, 0);
  }
}

void need_affinity(TableReader& r, std::string_view key, ParseState& st, const Affinity& a) {
  const std::string what = "affinity '" + a.to_string() + "'";
  if (a.kind == Affinity::Kind::kExact) need(r, key, st, what, a.cpus.last().value_or(0) + 1, 0, 0);
  if (a.kind == Affinity::Kind::kRandomSubset) need(r, key, st, what, a.size, 0, 0);
}

void need_mempolicy(TableReader& r, std::string_view key, ParseState& st, const MemPolicy& m) {
  if (!m.nodes.empty())
    need(r, key, st, "mempolicy '" + workload::to_string(m) + "'", 0, 0,
         *std::max_element(m.nodes.begin(), m.nodes.end()) + 1);
}

std::optional<WorkerCount> read_worker_count(TableReader& r, std::string_view key,
                                             const char* required_hint) {
  const toml::node* n = r.get(key);
  if (!n) {
    if (required_hint) r.missing(key, required_hint);
    return std::nullopt;
  }
  Result<WorkerCount> c = invalid_argument("");
  if (n->is_integer()) {
    int64_t v = n->as_integer()->get();
    c = v < 0 ? Result<WorkerCount>(invalid_argument(
                    std::to_string(v) + " is negative; use a count >= 0 or a scale such as cpus"))
              : WorkerCount::parse(std::to_string(v));
  } else if (n->is_string()) {
    c = WorkerCount::parse(n->as_string()->get());
  } else {
    r.error(key, "is " + std::string(type_name(*n)) +
                     "; write a count (2) or a scale in quotes (\"cpus\", \"2*cpus\", \"llcs\")");
    return std::nullopt;
  }
  if (!c.ok()) {
    r.error(key, c.error().message());
    return std::nullopt;
  }
  return std::move(c).value();
}

std::optional<WorkSpec> read_work(TableReader& r, std::string_view key) {
  const std::string_view key_name = key;
  const toml::node* n = r.get(key);
  if (!n) return std::nullopt;
  auto type_of = [&](const toml::node& at, std::string_view name, std::string_view field)
      -> std::optional<workload::WorkType> {
    auto t = workload::parse_work_type(name);
    if (t.ok()) return *t;
    std::string all;
    for (auto w : workload::all_work_types())
      all += (all.empty() ? "" : ", ") + std::string(workload::to_string(w));
    r.diags().error(where(at), field,
                    "'" + std::string(name) + "' is not a work type; use one of " + all);
    return std::nullopt;
  };
  if (n->is_string()) {
    auto t = type_of(*n, n->as_string()->get(), r.field(key));
    if (!t) return std::nullopt;
    return workload::default_spec(*t);
  }
  const auto* table = n->as_table();
  if (!table) {
    r.error(key, "is " + std::string(type_name(*n)) +
                     "; write a work type (\"cpu-spin\") or a table { type = \"mixed\", "
                     "spin_iters = 2048 }");
    return std::nullopt;
  }
  TableReader w(r.diags(), *table, r.field(key));
  std::optional<WorkSpec> spec;
  if (auto name = w.string("type", "add type = \"cpu-spin\" (the work type)")) {
    if (auto t = type_of(*w.get("type"), *name, w.field("type")))
      spec = workload::default_spec(*t);
  }
  WorkSpec params = spec.value_or(WorkSpec{});
  bool ok = spec.has_value();
  for (const auto& p : kParams) {
    if (!w.get(p.key)) continue;
    if (auto v = w.integer(p.key, 0, std::numeric_limits<uint32_t>::max()))
      params.*(p.member) = static_cast<uint32_t>(*v);
    else
      ok = false;
  }
  if (const toml::node* ph = w.get("phases")) {
    const auto* arr = ph->as_array();
    if (!arr || arr->empty()) {
      w.error("phases", "must be a non-empty array of { kind = \"spin\", ms = 10 } tables");
      ok = false;
    } else if (spec && spec->type != workload::WorkType::kSequence) {
      w.error("phases", "only applies to type = \"sequence\"; remove it or change the type");
      ok = false;
    } else {
      params.phases.clear();
      for (size_t i = 0; i < arr->size(); ++i) {
        auto phase = read_phase(r.diags(), *arr->get(i), index_path(w.field("phases"), i));
        if (phase)
          params.phases.push_back(*phase);
        else
          ok = false;
      }
    }
  }
  w.finish();
  if (!ok) return std::nullopt;
  // "stride: must be ..." points at the stride key; other messages at the table.
  if (auto v = workload::validate(params); !v.ok()) {
    std::string msg = v.error().message();
    auto colon = msg.find(':');
    std::string param = colon == std::string::npos ? "" : msg.substr(0, colon);
    auto bracket = param.find('[');
    std::string key = param.substr(0, bracket);
    if (!key.empty() && table->get(key))
      w.error(key, std::string(trim(msg.substr(colon + 1))));
    else
      r.error(key_name, msg);
    return std::nullopt;
  }
  return params;
}

std::optional<CgroupDef> read_cgroup(Diagnostics& d, const toml::node& node,
                                     const std::string& path, const std::string& parent,
                                     CgroupOrigin origin, ParseState& st) {
  const auto* table = node.as_table();
  if (!table) {
    d.error(where(node), path,
            "is " + std::string(type_name(node)) +
                "; write a table like { name = \"cg_0\", workers = 2, work = \"cpu-spin\" }");
    return std::nullopt;
  }
  st.runs_load = true;  // even when invalid: "runs nothing" would only add noise
  TableReader r(d, *table, path);
  // Errors go to the diagnostics (which fail the whole parse); the def is
  // still returned so later references to this cgroup do not cascade.
  CgroupDef def;

  // The name: a leaf, or for add-cgroup a path below a live cgroup.
  std::string full;
  if (auto name = r.string("name", "add name = \"cg_0\" (letters, digits, '_', '.', '-')")) {
    auto parts = split(*name, '/');
    bool valid = true;
    for (const auto& part : parts) {
      auto s = check_name(part, "cgroup name");
      if (!s.ok()) {
        r.error("name", s.error().message());
        valid = false;
        break;
      }
    }
    if (valid && parts.size() > 1 && origin != CgroupOrigin::kAdded) {
      r.error("name", "'" + *name + "' contains '/'; nest cgroups with children = [ ... ] instead");
      valid = false;
    }
    std::string parent_path = parent;
    if (valid && parts.size() > 1) {
      parent_path = name->substr(0, name->rfind('/'));
      auto it = st.cgroups.find(parent_path);
      if (it == st.cgroups.end()) {
        r.error("name", "parent cgroup '" + parent_path + "' does not exist at this point; add it "
                        "first");
        valid = false;
      } else if (!it->second.has_children && it->second.workers != uint64_t{0}) {
        r.error("name", "parent cgroup '" + parent_path +
                            "' runs workers, and cgroup v2 keeps processes in leaves only; give it "
                            "workers = 0");
        valid = false;
      }
    }
    if (valid) {
      full = parts.size() > 1 ? *name : (parent.empty() ? *name : parent + "/" + *name);
      if (st.cgroups.count(full)) {
        r.error("name", "cgroup '" + full +
                            "' already exists at this point; use another name or remove it first");
        valid = false;
      }
    }
  }
  def.name = full;

  // Structure first: whether the cgroup has children decides its workers.
  const toml::node* kids = r.get("children");
  const toml::array* kid_array = kids ? kids->as_array() : nullptr;
  if (kids && !kid_array) {
    r.error("children", "is " + std::string(type_name(*kids)) +
                            "; write an array of cgroup tables: children = [ { name = \"a\", "
                            "workers = 1 } ]");
  }
  const bool has_children = kid_array && !kid_array->empty();

  if (auto w = read_worker_count(
          r, "workers",
          has_children ? nullptr : "add workers = 2 (or \"cpus\" for one per allowed CPU)")) {
    def.workers = *w;
    if (has_children && *w != WorkerCount::fixed(0)) {
      r.error("workers", "a cgroup with children runs no workers itself (cgroup v2 keeps "
                         "processes in leaves); set workers = 0 or move them into a child");
    }
  } else if (has_children) {
    def.workers = WorkerCount::fixed(0);
  }

  def.work = read_work(r, "work").value_or(workload::default_spec(workload::WorkType::kCpuSpin));
  if (auto c = r.parsed<topo::CpusetSpec>("cpuset", &topo::CpusetSpec::parse)) {
    need_cpuset(r, "cpuset", st, *c);
    def.cpuset = std::move(*c);
  }
  if (auto a = r.parsed<Affinity>("affinity", &Affinity::parse)) {
    need_affinity(r, "affinity", st, *a);
    def.affinity = std::move(*a);
  }
  if (auto p = r.parsed<SchedPolicy>("policy", &workload::parse_policy)) def.policy = *p;
  if (auto nice = r.integer("nice", kMinNice, kMaxNice)) def.nice = static_cast<int32_t>(*nice);
  if (auto m = r.parsed<MemPolicy>("mempolicy", &workload::parse_mempolicy)) {
    need_mempolicy(r, "mempolicy", st, *m);
    def.mempolicy = std::move(*m);
  }

  // Register before the children so they find their parent.
  if (!full.empty()) {
    LiveCgroup live;
    live.backdrop = origin == CgroupOrigin::kBackdrop ||
                    (origin == CgroupOrigin::kChild && st.cgroups.count(parent) &&
                     st.cgroups[parent].backdrop);
    live.has_children = has_children;
    if (def.workers.kind == WorkerCount::Kind::kFixed) live.workers = def.workers.count;
    st.cgroups[full] = live;
    if (auto slash = full.rfind('/'); slash != std::string::npos)
      st.cgroups[full.substr(0, slash)].has_children = true;
  }
  if (kid_array) {
    for (size_t i = 0; i < kid_array->size(); ++i) {
      auto child = read_cgroup(d, *kid_array->get(i), index_path(r.field("children"), i),
                               full.empty() ? "?" : full, CgroupOrigin::kChild, st);
      if (child) def.children.push_back(std::move(*child));
    }
  }
  r.finish();
  return def;
}

}  // namespace ktstr::scenario::detail
