// The pieces of the scenario-file parser, shared by its .cpp files: the
// state the static checks track while reading a scenario top to bottom
// (live cgroups, payloads), and the readers of cgroups, work specs, holds
// and ops. Each reports into the Diagnostics and keeps going.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "scenario/detail/toml_reader.h"
#include "scenario/model.h"

namespace ktstr::scenario::detail {

struct LiveCgroup {
  bool backdrop = false;
  bool has_children = false;
  std::optional<uint64_t> workers;  // known when every count so far was fixed
};

// What exists at the current point of the scenario, for reference checks.
struct ParseState {
  Requirements req;  // the scenario's [requires], for coverage checks
  std::map<std::string, LiveCgroup> cgroups;
  std::set<std::string> payloads_started;
  std::set<std::string> payloads_running;
  bool runs_load = false;  // some cgroup, host worker or payload exists
};

// Coverage: a value that needs N CPUs / LLCs / nodes must be backed by
// [requires], so topologies too small SKIP instead of failing.
void need(TableReader& r, std::string_view key, ParseState& st, std::string_view what,
          uint32_t cpus, uint32_t llcs, uint32_t nodes);
void need_cpuset(TableReader& r, std::string_view key, ParseState& st,
                 const topo::CpusetSpec& spec);
void need_affinity(TableReader& r, std::string_view key, ParseState& st, const Affinity& a);
void need_mempolicy(TableReader& r, std::string_view key, ParseState& st, const MemPolicy& m);

// `workers = 2` or `workers = "2*cpus"`.
std::optional<WorkerCount> read_worker_count(TableReader& r, std::string_view key,
                                             const char* required_hint);
// `work = "cpu-spin"` or `work = { type = "mixed", spin_iters = 2048 }`;
// nullopt when absent or invalid (reported).
std::optional<workload::WorkSpec> read_work(TableReader& r, std::string_view key);

enum class CgroupOrigin { kBackdrop, kAdded, kChild };
// Reads a cgroup table and registers it (and its children) in `st`.
std::optional<CgroupDef> read_cgroup(Diagnostics& d, const toml::node& node,
                                     const std::string& path, const std::string& parent,
                                     CgroupOrigin origin, ParseState& st);

std::optional<Hold> read_hold(TableReader& step, std::string_view key);
std::optional<Op> read_op(Diagnostics& d, const toml::node& node, const std::string& path,
                          bool in_loop, ParseState& st);
// One [[assert]] table, checked against what the scenario defines (its
// snapshot ops and periodic count, so the steps must be read first).
std::optional<SnapshotAssertion> read_assert(Diagnostics& d, const toml::node& node,
                                             const std::string& path, const AssertionContext& ctx);

}  // namespace ktstr::scenario::detail
