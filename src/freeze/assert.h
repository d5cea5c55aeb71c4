// Evaluates snapshot assertions (scenario::SnapshotAssertion, the
// [[assert]] tables of a scenario) against the snapshots a run captured.
// Each result is one line a person can act on, plus the series it judged.
//
// Which snapshots:
//   snapshot = "x"        every snapshot named x (normally one); a name
//                         without '#' also matches "x#N" (so
//                         "watch:scx_nr_dispatched" is every capture of
//                         that watch), in capture order;
//   snapshots = [a, b]    those, in that order (each name as above, first
//                         match);
//   series = "periodic"   every periodic snapshot, in time order.
//
// Field paths, resolved against Snapshot::to_json():
//   a.b.c           object keys, dot-separated ("global.scx_state",
//                   "globals.scx_nr_dispatched", "freeze_us");
//   a[N]            list index ("cpus[2].nr_running");
//   maps[SEL].rest  the map SEL (exact name, else the one map whose name
//                   ends with SEL: "maps[.bss]" is "scx_simple.bss"); rest
//                   addresses the map's RENDERED VALUE directly:
//                   "maps[.bss].vtime_now", "maps[stats][0].nr_enq",
//                   "maps[pcpu_stats][0][1]" (index 0, cpu 1);
//   maps.NAME.rest  the same without brackets: the longest dotted prefix
//                   of the rest that selects a map by the rules above
//                   ("maps.bss.vtime_now", "maps.scx_simple.bss.x"). A
//                   leading "value." after the map is optional
//                   ("maps.scx_simple.bss.value.x" also works) unless the
//                   value itself has a key "value".
// A path that does not resolve fails the assertion, naming the path, the
// snapshot and the keys that exist where it stopped.
//
// Values: numbers (integers, floats, booleans as 0/1 for ordering kinds);
// eq/ne also compare strings (e.g. an enum rendered as its name) and
// booleans. Rates divide by workload time (workload_ms) between the first
// and last snapshot, or host time (t_ms) when workload time is unknown.
#pragma once

#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "freeze/snapshot.h"
#include "scenario/assertion.h"
#include "util/result.h"

namespace ktstr::freeze {

struct AssertionResult {
  bool passed = false;
  // "assert[0] maps[.bss].vtime_now non_decreasing failed: 1834 at
  // 'periodic#3' (step 1) < 2001 at 'periodic#2'", or "... passed (...)".
  std::string message;
  // {"assert": describe(a), "passed", "series": [{"snapshot", "step",
  //  "t_ms", "workload_ms", "value"}...], plus what was computed ("rate",
  //  "spread", "last", ...)}.
  nlohmann::json detail;
};

// `index` is the assert's position in the scenario (for the message).
AssertionResult evaluate_assertion(const scenario::SnapshotAssertion& a,
                                   const std::vector<Snapshot>& snapshots, size_t index = 0);
std::vector<AssertionResult> evaluate_assertions(std::span<const scenario::SnapshotAssertion> asserts,
                                                 const std::vector<Snapshot>& snapshots);

// Resolves `path` (syntax above) in one snapshot's JSON; the error says
// where it stopped and which keys exist there.
Result<nlohmann::json> resolve_path(const nlohmann::json& snapshot, std::string_view path);

}  // namespace ktstr::freeze
