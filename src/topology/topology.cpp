#include "topology/topology.h"

#include <fmt/format.h>

#include <array>
#include <limits>

#include "topology/detail/text.h"
#include "util/files.h"

namespace ktstr::topo {

namespace {

constexpr std::string_view kForm = "expected the form NnNlNcNt, e.g. 1n2l4c2t";

Status validate_counts(const Topology& t) {
  const std::array<std::pair<const char*, uint32_t>, 4> fields = {{
      {"numa_nodes", t.numa_nodes},
      {"llcs", t.llcs},
      {"cores_per_llc", t.cores_per_llc},
      {"threads_per_core", t.threads_per_core},
  }};
  for (auto [name, v] : fields)
    if (v == 0) return invalid_argument(fmt::format("{} must be >= 1 (got 0)", name));
  if (t.threads_per_core > kMaxThreadsPerCore)
    return invalid_argument(
        fmt::format("threads_per_core {} exceeds the maximum of {} (x86 hosts use 1 or 2)",
                    t.threads_per_core, kMaxThreadsPerCore));
  if (t.numa_nodes > kMaxNumaNodes)
    return invalid_argument(
        fmt::format("numa_nodes {} exceeds QEMU's maximum of {}", t.numa_nodes, kMaxNumaNodes));
  if (t.llcs % t.numa_nodes != 0) {
    uint32_t up = (t.llcs / t.numa_nodes + 1) * t.numa_nodes;
    return invalid_argument(
        fmt::format("llcs {} is not a multiple of numa_nodes {}; use e.g. {}n{}l{}c{}t", t.llcs,
                    t.numa_nodes, t.numa_nodes, up, t.cores_per_llc, t.threads_per_core));
  }
  uint64_t cpus = uint64_t{t.llcs} * t.cores_per_llc * t.threads_per_core;
  if (cpus > kMaxVmCpus)
    return invalid_argument(fmt::format(
        "cpus {} llcs x {} cores_per_llc x {} threads_per_core = {} exceeds the KVM/QEMU "
        "x86 limit of {}; reduce a count",
        t.llcs, t.cores_per_llc, t.threads_per_core, cpus, kMaxVmCpus));
  return {};
}

Status validate_memory(const Topology& t) {
  if (t.node_memory_mb.empty()) return {};
  if (t.node_memory_mb.size() != t.numa_nodes)
    return invalid_argument(
        fmt::format("node_memory_mb has {} entries for {} numa_nodes; give one per node or none",
                    t.node_memory_mb.size(), t.numa_nodes));
  uint64_t total = 0;
  for (uint64_t mb : t.node_memory_mb) total += mb;
  if (total == 0) return invalid_argument("node_memory_mb: total is 0 MB; give some node memory");
  return {};
}

Status validate_distances(const Topology& t) {
  const auto& d = t.distances;
  if (d.empty()) return {};
  const size_t n = t.numa_nodes;
  if (d.size() != n)
    return invalid_argument(fmt::format(
        "distances has {} rows for {} numa_nodes; need a {}x{} matrix", d.size(), n, n, n));
  for (size_t i = 0; i < n; ++i)
    if (d[i].size() != n)
      return invalid_argument(
          fmt::format("distances row {} has {} entries; need {}", i, d[i].size(), n));
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      uint32_t v = d[i][j];
      if (i == j && v != kLocalDistance)
        return invalid_argument(fmt::format("distances[{}][{}] is {}; the diagonal must be {}", i,
                                            j, v, kLocalDistance));
      if (i != j && (v <= kLocalDistance || v > kMaxDistance))
        return invalid_argument(
            fmt::format("distances[{}][{}] is {}; off-diagonal distances must be {}..{}", i, j, v,
                        kLocalDistance + 1, kMaxDistance));
      if (v != d[j][i])
        return invalid_argument(fmt::format(
            "distances[{}][{}] is {} but distances[{}][{}] is {}; the matrix must be symmetric", i,
            j, v, j, i, d[j][i]));
    }
  }
  return {};
}

}  // namespace

Result<Topology> Topology::parse(std::string_view spec) {
  const std::string ctx = fmt::format("topology '{}'", detail::one_line(spec));
  std::string_view s = trim(spec);
  constexpr std::array<std::pair<char, const char*>, 4> parts = {
      {{'n', "numa_nodes"}, {'l', "llcs"}, {'c', "cores_per_llc"}, {'t', "threads_per_core"}}};
  std::array<uint32_t, 4> v{};
  for (size_t i = 0; i < parts.size(); ++i) {
    auto [letter, field] = parts[i];
    size_t pos = s.find(letter);
    if (pos == std::string_view::npos) return invalid_argument(std::string(kForm)).context(ctx);
    auto num = detail::parse_u64(s.substr(0, pos));
    if (!num) return invalid_argument(std::string(kForm)).context(ctx);
    if (*num > std::numeric_limits<uint32_t>::max())
      return invalid_argument(fmt::format("{} {} is too large", field, *num)).context(ctx);
    v[i] = static_cast<uint32_t>(*num);
    s.remove_prefix(pos + 1);
  }
  if (!s.empty()) return invalid_argument(std::string(kForm)).context(ctx);
  Topology t;
  t.numa_nodes = v[0];
  t.llcs = v[1];
  t.cores_per_llc = v[2];
  t.threads_per_core = v[3];
  KTSTR_TRY(t.validate(), ctx);
  return t;
}

std::string Topology::to_string() const {
  return fmt::format("{}n{}l{}c{}t", numa_nodes, llcs, cores_per_llc, threads_per_core);
}

Status Topology::validate() const {
  KTSTR_TRY(validate_counts(*this));
  KTSTR_TRY(validate_memory(*this));
  KTSTR_TRY(validate_distances(*this));
  return {};
}

uint32_t Topology::distance(uint32_t a, uint32_t b) const {
  if (a >= numa_nodes || b >= numa_nodes) return 0;
  if (distances.empty()) return a == b ? kLocalDistance : kRemoteDistance;
  if (a >= distances.size() || b >= distances[a].size()) return 0;  // unvalidated SLIT
  return distances[a][b];
}

CpuLocation Topology::locate(uint32_t cpu) const {
  CpuLocation loc;
  loc.thread = cpu % threads_per_core;
  loc.core = (cpu / threads_per_core) % cores_per_llc;
  loc.llc = cpu / cpus_per_llc();
  loc.node = loc.llc / llcs_per_node();
  return loc;
}

uint32_t Topology::cpu_at(const CpuLocation& loc) const {
  return (loc.llc * cores_per_llc + loc.core) * threads_per_core + loc.thread;
}

CpuSet Topology::all_cpus() const {
  return num_cpus() ? CpuSet::range(0, num_cpus() - 1) : CpuSet{};
}

CpuSet Topology::llc_cpus(uint32_t llc) const {
  if (llc >= llcs) return {};
  uint32_t first = llc * cpus_per_llc();
  return CpuSet::range(first, first + cpus_per_llc() - 1);
}

CpuSet Topology::node_cpus(uint32_t node) const {
  if (node >= numa_nodes) return {};
  uint32_t first = node * cpus_per_node();
  return CpuSet::range(first, first + cpus_per_node() - 1);
}

CpuSet Topology::sibling_cpus(uint32_t cpu) const {
  if (cpu >= num_cpus()) return {};
  uint32_t first = cpu - cpu % threads_per_core;
  return CpuSet::range(first, first + threads_per_core - 1);
}

std::vector<uint32_t> Topology::node_llcs(uint32_t node) const {
  std::vector<uint32_t> out;
  if (node >= numa_nodes) return out;
  for (uint32_t l = node * llcs_per_node(); l < (node + 1) * llcs_per_node(); ++l) out.push_back(l);
  return out;
}

}  // namespace ktstr::topo
