// Snapshot -> JSON, the one shape assertions and reports read.
#include "freeze/snapshot.h"

#include <fmt/format.h>

namespace ktstr::freeze {

std::string_view to_string(Trigger t) {
  switch (t) {
    case Trigger::kRequest: return "request";
    case Trigger::kWatch: return "watch";
    case Trigger::kPeriodic: return "periodic";
  }
  return "unknown";
}

namespace {

nlohmann::json map_to_json(const MapDump& m) {
  nlohmann::json j = {{"id", m.id},
                      {"name", m.name},
                      {"map_type", m.map_type},
                      {"type", m.type_name},
                      {"key_size", m.key_size},
                      {"value_size", m.value_size},
                      {"max_entries", m.max_entries},
                      {"value", m.value}};
  if (!m.note.empty()) j["note"] = m.note;
  return j;
}

}  // namespace

nlohmann::json Snapshot::to_json() const {
  nlohmann::json sample = monitor::to_json(sched);
  nlohmann::json maps_json = nlohmann::json::object();
  for (const auto& m : maps) {
    // Two live maps may share a name (a scheduler reloaded while the old
    // one is being freed): the later ones are keyed "<name>#<id>".
    std::string key = maps_json.contains(m.name) ? fmt::format("{}#{}", m.name, m.id) : m.name;
    maps_json[key] = map_to_json(m);
  }
  return {{"name", name},
          {"trigger", to_string(trigger)},
          {"step", step},
          {"t_ms", t_ms},
          {"workload_ms", workload_ms},
          {"freeze_us", freeze_us},
          {"cpus", sample.value("cpus", nlohmann::json::array())},
          {"global", sample.value("global", nlohmann::json::object())},
          {"globals", globals},
          {"maps", std::move(maps_json)},
          {"errors", errors}};
}

}  // namespace ktstr::freeze
