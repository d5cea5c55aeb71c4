#include "workload/report.h"

#include <limits>

namespace ktstr::workload {

namespace {

using nlohmann::json;

// Each getter leaves `out` alone when the field is missing or mistyped, so a
// report from an older or damaged worker still yields what it can.
void get(const json& j, const char* key, std::string& out) {
  auto it = j.find(key);
  if (it != j.end() && it->is_string()) out = it->get<std::string>();
}

// A non-negative integer that fits U (JSON text gives unsigned numbers,
// json built in code may hold signed ones).
template <typename U>
bool as_unsigned(const json& v, U& out) {
  uint64_t x;
  if (v.is_number_unsigned()) {
    x = v.get<uint64_t>();
  } else if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    x = static_cast<uint64_t>(v.get<int64_t>());
  } else {
    return false;
  }
  if (x > std::numeric_limits<U>::max()) return false;
  out = static_cast<U>(x);
  return true;
}

template <typename U>
void get_unsigned(const json& j, const char* key, U& out) {
  auto it = j.find(key);
  if (it != j.end()) as_unsigned(*it, out);
}

void get(const json& j, const char* key, uint64_t& out) { get_unsigned(j, key, out); }
void get(const json& j, const char* key, uint32_t& out) { get_unsigned(j, key, out); }

void get(const json& j, const char* key, int32_t& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return;
  int64_t v = it->get<int64_t>();
  if (v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max())
    out = static_cast<int32_t>(v);
}

void get(const json& j, const char* key, double& out) {
  auto it = j.find(key);
  if (it != j.end() && it->is_number()) out = it->get<double>();
}

template <typename T>
void get_array(const json& j, const char* key, std::vector<T>& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return;
  std::vector<T> v;
  v.reserve(it->size());
  for (const auto& e : *it) {
    if constexpr (std::is_same_v<T, std::string>) {
      if (!e.is_string()) return;
      v.push_back(e.get<std::string>());
    } else {
      T x;
      if (!as_unsigned(e, x)) return;
      v.push_back(x);
    }
  }
  out = std::move(v);
}

void get(const json& j, const char* key, std::map<uint32_t, uint64_t>& out) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return;
  std::map<uint32_t, uint64_t> m;
  for (const auto& [k, v] : it->items()) {
    uint64_t pages;
    if (!as_unsigned(v, pages) || k.empty() || k.size() > 9 ||
        k.find_first_not_of("0123456789") != std::string::npos)
      return;
    m[static_cast<uint32_t>(std::stoul(k))] = pages;
  }
  out = std::move(m);
}

}  // namespace

nlohmann::json to_json(const WorkerReport& r) {
  json numa = json::object();
  for (const auto& [node, pages] : r.numa_pages) numa[std::to_string(node)] = pages;
  return json{
      {"cgroup", r.cgroup},
      {"index", r.index},
      {"pid", r.pid},
      {"work_type", r.work_type},
      {"group", r.group},
      {"role", r.role},
      {"work_units", r.work_units},
      {"iterations", r.iterations},
      {"cpu_time_ns", r.cpu_time_ns},
      {"wall_time_ns", r.wall_time_ns},
      {"off_cpu_pct", r.off_cpu_pct},
      {"max_gap_ns", r.max_gap_ns},
      {"max_gap_cpu", r.max_gap_cpu},
      {"max_gap_at_ns", r.max_gap_at_ns},
      {"migrations", r.migrations},
      {"cpus_used", r.cpus_used},
      {"wake_latency_ns", r.wake_latency_ns},
      {"wake_samples_seen", r.wake_samples_seen},
      {"schedstat_run_ns", r.schedstat_run_ns},
      {"schedstat_wait_ns", r.schedstat_wait_ns},
      {"schedstat_timeslices", r.schedstat_timeslices},
      {"numa_pages", numa},
      {"error", r.error},
      {"notes", r.notes},
  };
}

WorkerReport report_from_json(const nlohmann::json& j) {
  WorkerReport r;
  if (!j.is_object()) return r;
  get(j, "cgroup", r.cgroup);
  get(j, "index", r.index);
  get(j, "pid", r.pid);
  get(j, "work_type", r.work_type);
  get(j, "group", r.group);
  get(j, "role", r.role);
  get(j, "work_units", r.work_units);
  get(j, "iterations", r.iterations);
  get(j, "cpu_time_ns", r.cpu_time_ns);
  get(j, "wall_time_ns", r.wall_time_ns);
  get(j, "off_cpu_pct", r.off_cpu_pct);
  get(j, "max_gap_ns", r.max_gap_ns);
  get(j, "max_gap_cpu", r.max_gap_cpu);
  get(j, "max_gap_at_ns", r.max_gap_at_ns);
  get(j, "migrations", r.migrations);
  get_array(j, "cpus_used", r.cpus_used);
  get_array(j, "wake_latency_ns", r.wake_latency_ns);
  get(j, "wake_samples_seen", r.wake_samples_seen);
  get(j, "schedstat_run_ns", r.schedstat_run_ns);
  get(j, "schedstat_wait_ns", r.schedstat_wait_ns);
  get(j, "schedstat_timeslices", r.schedstat_timeslices);
  get(j, "numa_pages", r.numa_pages);
  get(j, "error", r.error);
  get_array(j, "notes", r.notes);
  return r;
}

Result<WorkerReport> parse_report(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return protocol_error("worker report is not valid JSON (" + std::to_string(text.size()) +
                          " bytes)");
  if (!j.is_object()) return protocol_error("worker report is not a JSON object");
  return report_from_json(j);
}

}  // namespace ktstr::workload
