#include "scenario/toml_writer.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>

namespace ktstr::scenario {

namespace {

using workload::WorkSpec;

// A TOML basic string.
std::string quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

// Shortest text that parses back to exactly `v`; always a TOML float.
std::string float_text(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, ec == std::errc() ? end : buf);
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

// Whole numbers as TOML integers (the parser accepts either).
std::string number_text(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9.0e15) return std::to_string(static_cast<int64_t>(v));
  return float_text(v);
}

// Exactly ms / 1000, e.g. 4500 -> "4.5".
std::string seconds_text(uint32_t ms) {
  std::string s = std::to_string(ms / 1000);
  if (uint32_t frac = ms % 1000) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03u", frac);
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    s += f;
  }
  return s;
}

// "k = v" pairs of one inline table.
class Inline {
 public:
  Inline& add(std::string_view key, const std::string& value) {
    items_ += (items_.empty() ? "" : ", ") + std::string(key) + " = " + value;
    return *this;
  }
  std::string str() const { return "{ " + items_ + " }"; }

 private:
  std::string items_;
};

std::string workers_text(const WorkerCount& c) {
  return c.kind == WorkerCount::Kind::kFixed ? std::to_string(c.count) : quote(c.to_string());
}

std::string_view phase_kind(workload::Phase::Kind k) {
  switch (k) {
    case workload::Phase::Kind::kSpin: return "spin";
    case workload::Phase::Kind::kSleep: return "sleep";
    case workload::Phase::Kind::kYield: return "yield";
    case workload::Phase::Kind::kIo: return "io";
  }
  return "spin";
}

// The type's name alone when every parameter is at its default.
std::string work_text(const WorkSpec& w) {
  const WorkSpec def = workload::default_spec(w.type);
  const std::string type = quote(workload::to_string(w.type));
  if (same_work(w, def)) return type;
  Inline t;
  t.add("type", type);
  auto param = [&](std::string_view key, uint32_t WorkSpec::*m) {
    if (w.*m != def.*m) t.add(key, std::to_string(w.*m));
  };
  param("spin_iters", &WorkSpec::spin_iters);
  param("io_bytes", &WorkSpec::io_bytes);
  param("sleep_us", &WorkSpec::sleep_us);
  param("burst_ms", &WorkSpec::burst_ms);
  param("sleep_ms", &WorkSpec::sleep_ms);
  param("iters", &WorkSpec::iters);
  param("buffer_kib", &WorkSpec::buffer_kib);
  param("stride", &WorkSpec::stride);
  param("fan_out", &WorkSpec::fan_out);
  param("ops", &WorkSpec::ops);
  param("region_kib", &WorkSpec::region_kib);
  param("contenders", &WorkSpec::contenders);
  WorkSpec phases_only = def;
  phases_only.phases = w.phases;
  if (!same_work(phases_only, def)) {
    std::string list;
    for (const auto& p : w.phases)
      list += (list.empty() ? "" : ", ") + Inline()
                                               .add("kind", quote(phase_kind(p.kind)))
                                               .add("ms", std::to_string(p.duration_ms))
                                               .str();
    t.add("phases", "[" + list + "]");
  }
  return t.str();
}

// The fields of a cgroup after its name, as (key, value) pairs; children
// one per line when `multiline` (a [[backdrop]] table), else inline.
std::vector<std::pair<std::string, std::string>> cgroup_fields(const CgroupDef& d,
                                                                bool multiline = false);

std::string cgroup_inline(const CgroupDef& d, bool full_name) {
  Inline t;
  t.add("name", quote(full_name ? std::string_view(d.name) : d.leaf_name()));
  for (auto& [k, v] : cgroup_fields(d)) t.add(k, v);
  return t.str();
}

std::vector<std::pair<std::string, std::string>> cgroup_fields(const CgroupDef& d,
                                                                bool multiline) {
  std::vector<std::pair<std::string, std::string>> f;
  if (d.children.empty() || d.workers != WorkerCount::fixed(0))
    f.emplace_back("workers", workers_text(d.workers));
  if (!same_work(d.work, workload::default_spec(workload::WorkType::kCpuSpin)))
    f.emplace_back("work", work_text(d.work));
  if (d.cpuset)
    f.emplace_back("cpuset", quote(d.cpuset->text.empty() ? d.cpuset->to_string() : d.cpuset->text));
  if (d.affinity != Affinity{}) f.emplace_back("affinity", quote(d.affinity.to_string()));
  if (d.policy != SchedPolicy{}) f.emplace_back("policy", quote(workload::to_string(d.policy)));
  if (d.nice != 0) f.emplace_back("nice", std::to_string(d.nice));
  if (d.mempolicy != MemPolicy{}) f.emplace_back("mempolicy", quote(workload::to_string(d.mempolicy)));
  if (!d.children.empty()) {
    std::string list;
    for (const auto& c : d.children) {
      if (multiline)
        list += "\n  " + cgroup_inline(c, false) + ",";
      else
        list += (list.empty() ? "" : ", ") + cgroup_inline(c, false);
    }
    f.emplace_back("children", "[" + list + (multiline ? "\n]" : "]"));
  }
  return f;
}

std::string cpuset_text(const topo::CpusetSpec& c) {
  return quote(c.text.empty() ? c.to_string() : c.text);
}

// Addresses in hex (they exceed TOML's signed integers); other values as
// integers while they fit, hex strings beyond.
std::string hex_text(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "\"0x%llx\"", static_cast<unsigned long long>(v));
  return buf;
}

std::string u64_text(uint64_t v) {
  return v <= static_cast<uint64_t>(INT64_MAX) ? std::to_string(v) : hex_text(v);
}

void kernel_op_fields(Inline& t, const KernelOpSpec& k) {
  t.add("target", quote(to_string(k.target))).add("tag", quote(k.tag));
  if (!k.symbol.empty()) t.add("symbol", quote(k.symbol));
  if (!k.field.empty()) t.add("field", quote(k.field));
  if (k.target == KernelOpSpec::Target::kKva) t.add("address", hex_text(k.address));
  if (k.target == KernelOpSpec::Target::kPercpu) t.add("cpu", std::to_string(k.cpu));
  if (k.target == KernelOpSpec::Target::kTask) t.add("pid", std::to_string(k.pid));
  if (k.width != 8) t.add("width", std::to_string(k.width));
  if (k.access == KernelOpSpec::Access::kWrite) t.add("value", u64_text(k.value));
}

std::string value_text(const AssertValue& v) {
  if (const double* d = std::get_if<double>(&v)) return number_text(*d);
  if (const bool* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  return quote(std::get<std::string>(v));
}

std::string assert_text(const SnapshotAssertion& a) {
  std::string out = "\n[[assert]]\n";
  auto line = [&](std::string_view key, const std::string& value) {
    out += std::string(key) + " = " + value + "\n";
  };
  if (!a.snapshot.empty()) line("snapshot", quote(a.snapshot));
  if (!a.snapshots.empty()) {
    std::string list;
    for (const auto& n : a.snapshots) list += (list.empty() ? "" : ", ") + quote(n);
    line("snapshots", "[" + list + "]");
  }
  if (!a.series.empty()) line("series", quote(a.series));
  line("path", quote(a.path));
  if (a.kind) line("kind", quote(to_string(*a.kind)));
  if (a.op) line("op", quote(to_string(*a.op)));
  if (a.value) line("value", value_text(*a.value));
  if (!a.path2.empty()) line("path2", quote(a.path2));
  if (a.min) line("min", number_text(*a.min));
  if (a.max) line("max", number_text(*a.max));
  if (a.band) line("band", number_text(*a.band));
  if (a.tolerance) line("tolerance", number_text(*a.tolerance));
  return out;
}

std::string op_text(const Op& op) {
  Inline t;
  t.add("op", quote(op_name(op)));
  std::visit(
      [&](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, ops::AddCgroup>) {
          // A nested add names its full path ("parent/child").
          t.add("cgroup", cgroup_inline(o.cgroup, true));
        } else if constexpr (std::is_same_v<T, ops::SetCpuset>) {
          t.add("cgroup", quote(o.cgroup)).add("cpuset", cpuset_text(o.cpuset));
        } else if constexpr (std::is_same_v<T, ops::SwapCpusets>) {
          t.add("a", quote(o.a)).add("b", quote(o.b));
        } else if constexpr (std::is_same_v<T, ops::Spawn>) {
          t.add("cgroup", quote(o.cgroup)).add("count", workers_text(o.count));
          if (o.work) t.add("work", work_text(*o.work));
        } else if constexpr (std::is_same_v<T, ops::SetAffinity>) {
          t.add("cgroup", quote(o.cgroup)).add("affinity", quote(o.affinity.to_string()));
        } else if constexpr (std::is_same_v<T, ops::SpawnHost>) {
          t.add("count", workers_text(o.count)).add("work", work_text(o.work));
        } else if constexpr (std::is_same_v<T, ops::MoveAllTasks>) {
          t.add("from", quote(o.from)).add("to", quote(o.to));
        } else if constexpr (std::is_same_v<T, ops::RunPayload>) {
          std::string argv;
          for (const auto& a : o.argv) argv += (argv.empty() ? "" : ", ") + quote(a);
          t.add("name", quote(o.name)).add("argv", "[" + argv + "]");
          if (o.cgroup) t.add("cgroup", quote(*o.cgroup));
        } else if constexpr (std::is_same_v<T, ops::WaitPayload>) {
          t.add("name", quote(o.name)).add("timeout_ms", std::to_string(o.timeout_ms));
        } else if constexpr (std::is_same_v<T, ops::KillPayload> ||
                             std::is_same_v<T, ops::Snapshot>) {
          t.add("name", quote(o.name));
        } else if constexpr (std::is_same_v<T, ops::WatchSnapshot>) {
          t.add("symbol", quote(o.symbol));
        } else if constexpr (std::is_same_v<T, ops::KernelRead> ||
                             std::is_same_v<T, ops::KernelWrite>) {
          kernel_op_fields(t, o.spec);
        } else if constexpr (std::is_same_v<T, ops::FreezeWorker>) {
          t.add("cgroup", quote(o.cgroup))
              .add("worker", std::to_string(o.worker))
              .add("duration_ms", std::to_string(o.duration_ms));
        } else {  // remove-cgroup, clear-cpuset, stop-cgroup
          t.add("cgroup", quote(o.cgroup));
        }
      },
      op);
  return t.str();
}

std::string hold_text(const Hold& h) {
  Inline t;
  if (h.kind == Hold::Kind::kDuration || (h.kind == Hold::Kind::kLoop && h.duration_ms != 0))
    t.add("duration_ms", std::to_string(h.duration_ms));
  else
    t.add("fraction", float_text(h.fraction));
  if (h.kind == Hold::Kind::kLoop) t.add("every_ms", std::to_string(h.interval_ms));
  return t.str();
}

}  // namespace

std::string to_toml(const Scenario& s) {
  std::string out;
  out += "name = " + quote(s.name) + "\n";
  out += "category = " + quote(to_string(s.category)) + "\n";
  out += "description = " + quote(s.description) + "\n";
  out += "duration_s = " + seconds_text(s.duration_ms) + "\n";
  if (s.snapshots) out += "snapshots = " + std::to_string(s.snapshots) + "\n";

  const Requirements& r = s.requirements;
  if (!r.empty()) {
    out += "\n[requires]\n";
    if (r.min_cpus) out += "min_cpus = " + std::to_string(r.min_cpus) + "\n";
    if (r.min_llcs) out += "min_llcs = " + std::to_string(r.min_llcs) + "\n";
    if (r.min_numa_nodes) out += "min_numa_nodes = " + std::to_string(r.min_numa_nodes) + "\n";
    if (r.smt) out += "smt = true\n";
  }
  if (!s.thresholds.empty()) {
    out += "\n[thresholds]\n";
    for (const auto& [k, v] : s.thresholds) out += k + " = " + number_text(v) + "\n";
  }
  for (const auto& d : s.backdrop) {
    out += "\n[[backdrop]]\nname = " + quote(d.name) + "\n";
    for (const auto& [k, v] : cgroup_fields(d, true)) out += k + " = " + v + "\n";
  }
  for (const auto& step : s.steps) {
    out += "\n[[step]]\nhold = " + hold_text(step.hold) + "\n";
    if (step.ops.empty()) continue;
    out += "ops = [\n";
    for (const auto& op : step.ops) out += "  " + op_text(op) + ",\n";
    out += "]\n";
  }
  for (const auto& a : s.asserts) out += assert_text(a);
  return out;
}

}  // namespace ktstr::scenario
