#include "monitor/sample.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace ktstr::monitor {

namespace {

template <typename T>
void put(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json to_json(const GlobalSample& g) {
  nlohmann::json j = nlohmann::json::object();
  put(j, "scx_state", g.scx_state);
  put(j, "scx_root", g.scx_root);
  if (!g.events.empty()) j["events"] = g.events;
  put(j, "jiffies", g.jiffies);
  if (!g.error.empty()) j["error"] = g.error;
  return j;
}

// One CPU's columns, aligned with the samples: null where the sample had
// no value (or no entry) for this CPU.
struct Columns {
  nlohmann::json t_ms = nlohmann::json::array();
  nlohmann::json nr_running = nlohmann::json::array();
  nlohmann::json scx_nr_running = nlohmann::json::array();
  nlohmann::json rq_clock = nlohmann::json::array();
  nlohmann::json local_dsq_depth = nlohmann::json::array();
  std::optional<uint64_t> last_clock;
  uint64_t clock_advances = 0;  // consecutive-sample pairs whose rq clock grew
};

}  // namespace

nlohmann::json to_json(const CpuSample& s) {
  nlohmann::json j = {{"cpu", s.cpu}};
  put(j, "nr_running", s.nr_running);
  put(j, "scx_nr_running", s.scx_nr_running);
  put(j, "rq_clock", s.rq_clock);
  put(j, "local_dsq_depth", s.local_dsq_depth);
  put(j, "scx_flags", s.scx_flags);
  put(j, "curr_pid", s.curr_pid);
  if (!s.error.empty()) j["error"] = s.error;
  return j;
}

nlohmann::json to_json(const Sample& s) {
  nlohmann::json cpus = nlohmann::json::array();
  for (const auto& c : s.cpus) cpus.push_back(to_json(c));
  return {{"t_ms", s.t_ms},     {"step", s.step}, {"host_starved", s.host_starved},
          {"paused", s.paused}, {"cpus", cpus},   {"global", to_json(s.global)}};
}

nlohmann::json to_json(const Timeline& t) {
  nlohmann::json samples = nlohmann::json::array();
  std::map<uint32_t, size_t> column_of;  // cpu -> index into cols
  for (const auto& s : t.samples)
    for (const auto& c : s.cpus) column_of.emplace(c.cpu, 0);
  std::vector<Columns> cols(column_of.size());
  size_t next = 0;
  for (auto& [cpu, index] : column_of) index = next++;
  std::vector<const CpuSample*> row(cols.size());
  for (const auto& s : t.samples) {
    samples.push_back(to_json(s));
    std::fill(row.begin(), row.end(), nullptr);
    for (const auto& c : s.cpus) row[column_of[c.cpu]] = &c;
    for (size_t i = 0; i < cols.size(); ++i) {
      const CpuSample* c = row[i];
      Columns& col = cols[i];
      col.t_ms.push_back(s.t_ms);
      col.nr_running.push_back(c ? or_null(c->nr_running) : nullptr);
      col.scx_nr_running.push_back(c ? or_null(c->scx_nr_running) : nullptr);
      col.rq_clock.push_back(c ? or_null(c->rq_clock) : nullptr);
      col.local_dsq_depth.push_back(c ? or_null(c->local_dsq_depth) : nullptr);
      const std::optional<uint64_t> clock = c ? c->rq_clock : std::nullopt;
      if (clock && col.last_clock && *clock > *col.last_clock) ++col.clock_advances;
      col.last_clock = clock;
    }
  }
  nlohmann::json per_cpu = nlohmann::json::object();
  for (const auto& [cpu, index] : column_of) {
    Columns& c = cols[index];
    per_cpu[std::to_string(cpu)] = {{"t_ms", std::move(c.t_ms)},
                                    {"nr_running", std::move(c.nr_running)},
                                    {"scx_nr_running", std::move(c.scx_nr_running)},
                                    {"rq_clock", std::move(c.rq_clock)},
                                    {"local_dsq_depth", std::move(c.local_dsq_depth)},
                                    {"rq_clock_advances", c.clock_advances}};
  }
  nlohmann::json events = nlohmann::json::array();
  for (const auto& e : t.events)
    events.push_back({{"t_ms", e.t_ms}, {"step", e.step}, {"what", e.what}});
  return {{"interval_ms", t.interval_ms},
          {"notes", t.notes},
          {"events", events},
          {"samples", samples},
          {"per_cpu", per_cpu}};
}

}  // namespace ktstr::monitor
