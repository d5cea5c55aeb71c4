// A snapshot: the guest's scheduler state captured while every vCPU was
// stopped. Per-CPU runqueue state as the monitor reads it, sched_ext
// global state, named kernel globals the test asked for, and the BPF maps
// of the running scheduler rendered through their BTF. Reported as JSON:
// test assertions address it by field path (assert.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "monitor/sample.h"

namespace ktstr::freeze {

enum class Trigger { kRequest, kWatch, kPeriodic };
std::string_view to_string(Trigger t);  // "request" | "watch" | "periodic"

// One BPF map found through the kernel's map_idr.
struct MapDump {
  uint32_t id = 0;
  std::string name;         // bpf_map.name, e.g. "scx_simple.bss" or "stats"
  uint32_t map_type = 0;    // enum bpf_map_type
  std::string type_name;    // "array", "percpu_array", "hash", ...
  uint32_t key_size = 0, value_size = 0, max_entries = 0;
  // Arrays: a list, one rendered value per index. .bss/.data/.rodata (one
  // DATASEC value): an object of variable name -> value. Per-CPU arrays: a
  // list per index of lists per CPU. Null when not renderable (see note).
  nlohmann::json value;
  std::string note;  // why a map (or part of it) was not rendered
};

struct Snapshot {
  std::string name;         // request tag, "watch:<symbol>#N", "periodic#N"
  Trigger trigger = Trigger::kRequest;
  uint32_t step = 0;        // step index in force
  uint64_t t_ms = 0;        // host ms since the run's monitor started
  uint64_t workload_ms = 0; // workload time (pauses excluded), 0 if unknown
  uint64_t freeze_us = 0;   // stop -> cont, measured on the host
  monitor::Sample sched;    // per-CPU rq state + sched_ext globals
  nlohmann::json globals = nlohmann::json::object();  // symbol -> value
  std::vector<MapDump> maps;
  std::vector<std::string> errors;  // parts that could not be read

  // {"name","trigger","step","t_ms","workload_ms","freeze_us","cpus":[...],
  //  "global":{...},"globals":{...},"maps":{"<name>": {...,"value":...}},
  //  "errors":[...]}. Maps are keyed by name (the id is inside) so paths
  // read "maps.scx_simple.bss.value.vtime_now" — see assert.h for how a
  // path may match a map by suffix ("bss.vtime_now").
  nlohmann::json to_json() const;
};

}  // namespace ktstr::freeze
