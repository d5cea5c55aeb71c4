// TestOptions: how a KTSTR_TEST runs — the VM's topology, how long the
// scenario lasts, what the test checks (one line for people) and check
// thresholds on top of the defaults. Written with designated initializers:
//   {.topology = "1n2l2c1t", .duration_s = 3, .description = "two cgroups share fairly"}
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scenario/assertion.h"

namespace ktstr {

struct TestOptions {
  const char* topology = "1n2l2c1t";  // NnNlNcNt, see topology/topology.h
  uint32_t duration_s = 3;            // the scenario's duration; 1..3600
  const char* description = "";       // one line, required
  uint64_t memory_mb = 0;             // guest RAM; 0 = 256 MiB + 32 MiB per CPU
  // Check thresholds (docs/checks.md), e.g. {{"max_gap_ms", 700}}; the host
  // judges with the defaults merged with these.
  std::map<std::string, double> thresholds;
  // Periodic snapshots the host takes over the run (docs/freeze.md).
  uint32_t snapshots = 0;
  // Judged by the host over the run's snapshots, like a scenario file's
  // [[assert]] tables (scenario/assertion.h, freeze/assert.h for paths).
  std::vector<scenario::SnapshotAssertion> asserts;
};

}  // namespace ktstr
