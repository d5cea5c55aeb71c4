#include "topology/host.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <system_error>

#include "topology/detail/text.h"
#include "util/files.h"

namespace ktstr::topo {

namespace fs = std::filesystem;

namespace {

constexpr size_t kSysfsLimit = 1 << 20;

// The trimmed file text, or nullopt when the file does not exist.
Result<std::optional<std::string>> read_optional(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return std::optional<std::string>();
  KTSTR_ASSIGN(std::string text, read_file_limited(p, kSysfsLimit));
  return std::optional<std::string>(std::string(trim(text)));
}

// An id file; "-1" (unknown) and a missing file both give nullopt.
Result<std::optional<uint32_t>> read_id(const fs::path& p) {
  KTSTR_ASSIGN(auto text, read_optional(p));
  if (!text || *text == "-1") return std::optional<uint32_t>();
  auto v = detail::parse_u64(*text);
  if (!v || *v > UINT32_MAX)
    return invalid_argument(
        fmt::format("{}: '{}' is not an id", p.string(), detail::one_line(*text)));
  return std::optional<uint32_t>(static_cast<uint32_t>(*v));
}

Result<std::optional<CpuSet>> read_list(const fs::path& p) {
  KTSTR_ASSIGN(auto text, read_optional(p));
  if (!text) return std::optional<CpuSet>();
  KTSTR_ASSIGN(CpuSet s, CpuSet::parse_list(*text), p.string());
  return std::optional<CpuSet>(std::move(s));
}

// Numbered children "<prefix>N" of dir, ascending by N.
std::vector<std::pair<uint32_t, fs::path>> numbered_children(const fs::path& dir,
                                                             std::string_view prefix) {
  std::vector<std::pair<uint32_t, fs::path>> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    auto n = detail::parse_u64(std::string_view(name).substr(prefix.size()));
    if (n && *n <= UINT32_MAX) out.emplace_back(static_cast<uint32_t>(*n), it->path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// shared_cpu_list of the highest-level data or unified cache, if any.
Result<std::optional<CpuSet>> read_llc(const fs::path& cpu_dir) {
  std::optional<CpuSet> best;
  uint32_t best_level = 0;
  for (const auto& [idx, dir] : numbered_children(cpu_dir / "cache", "index")) {
    KTSTR_ASSIGN(auto level, read_id(dir / "level"));
    KTSTR_ASSIGN(auto type, read_optional(dir / "type"));
    KTSTR_ASSIGN(auto shared, read_list(dir / "shared_cpu_list"));
    if (!level || !shared || (type && *type == "Instruction")) continue;
    if (!best || *level > best_level) best = std::move(shared), best_level = *level;
  }
  return best;
}

// "Node 0 MemTotal:  16318412 kB" -> MB.
uint64_t parse_meminfo_total_mb(std::string_view text) {
  for (const std::string& line : split(text, '\n')) {
    auto pos = line.find("MemTotal:");
    if (pos == std::string::npos) continue;
    std::string_view rest = trim(std::string_view(line).substr(pos + 9));
    auto num = detail::parse_u64(rest.substr(0, rest.find(' ')));
    return num ? *num / 1024 : 0;
  }
  return 0;
}

Status read_cpus(const fs::path& cpu_root, const CpuSet& online, HostTopology& h,
                 std::vector<std::optional<CpuSet>>& llc_lists) {
  for (uint32_t id : online) {
    fs::path dir = cpu_root / fmt::format("cpu{}", id);
    HostTopology::Cpu c;
    c.id = id;
    KTSTR_ASSIGN(auto pkg, read_id(dir / "topology/physical_package_id"));
    KTSTR_ASSIGN(auto die, read_id(dir / "topology/die_id"));
    KTSTR_ASSIGN(auto core, read_id(dir / "topology/core_id"));
    KTSTR_ASSIGN(auto sib, read_list(dir / "topology/thread_siblings_list"));
    c.package = pkg.value_or(0);
    c.die = die.value_or(0);
    c.core_id = core.value_or(id);
    c.siblings = (sib ? *sib & online : CpuSet{}) | CpuSet{id};
    KTSTR_ASSIGN(auto llc, read_llc(dir));
    llc_lists.push_back(std::move(llc));
    h.cpus.push_back(std::move(c));
  }
  return {};
}

// Partitions the CPUs into LLCs: each unassigned CPU opens an LLC holding the
// still-unassigned CPUs of its shared_cpu_list (or of its package).
void assign_llcs(const CpuSet& online, const std::vector<std::optional<CpuSet>>& lists,
                 HostTopology& h) {
  std::map<uint32_t, CpuSet> by_package;
  for (const auto& c : h.cpus) by_package[c.package].add(c.id);
  CpuSet assigned;
  std::map<uint32_t, uint32_t> llc_of;
  for (size_t i = 0; i < h.cpus.size(); ++i) {
    auto& c = h.cpus[i];
    if (!assigned.contains(c.id)) {
      CpuSet members = lists[i] ? *lists[i] & online : by_package[c.package];
      members = (members | CpuSet{c.id}) - assigned;
      for (uint32_t m : members) llc_of[m] = static_cast<uint32_t>(h.llcs.size());
      assigned |= members;
      h.llcs.push_back(std::move(members));
    }
    c.llc = llc_of[c.id];
  }
}

Status read_nodes(const fs::path& node_root, const CpuSet& online, HostTopology& h) {
  auto dirs = numbered_children(node_root, "node");
  if (dirs.empty()) {  // no NUMA support: one node with every CPU
    h.nodes = {online};
    h.node_ids = {0};
    h.distances = {{kLocalDistance}};
    h.node_memory_mb = {0};
    return {};
  }
  bool have_distances = true;
  for (const auto& [id, dir] : dirs) {
    KTSTR_ASSIGN(auto cpus, read_list(dir / "cpulist"));
    h.nodes.push_back(cpus ? *cpus & online : CpuSet{});
    h.node_ids.push_back(id);
    KTSTR_ASSIGN(auto mem, read_optional(dir / "meminfo"));
    h.node_memory_mb.push_back(mem ? parse_meminfo_total_mb(*mem) : 0);
    KTSTR_ASSIGN(auto dist, read_optional(dir / "distance"));
    if (!dist) {
      have_distances = false;
      continue;
    }
    std::vector<uint32_t> row;
    for (const std::string& tok : split(*dist, ' ')) {
      if (trim(tok).empty()) continue;
      auto v = detail::parse_u64(trim(tok));
      if (!v || *v > 255)
        return invalid_argument(fmt::format("{}: '{}' is not a distance",
                                            (dir / "distance").string(), detail::one_line(tok)));
      row.push_back(static_cast<uint32_t>(*v));
    }
    if (row.size() != dirs.size())
      return invalid_argument(fmt::format("{}: {} distances for {} nodes",
                                          (dir / "distance").string(), row.size(), dirs.size()));
    h.distances.push_back(std::move(row));
  }
  if (!have_distances) {
    h.distances.assign(dirs.size(), std::vector<uint32_t>(dirs.size(), kRemoteDistance));
    for (size_t i = 0; i < dirs.size(); ++i) h.distances[i][i] = kLocalDistance;
  }
  return {};
}

void assign_nodes(HostTopology& h) {
  for (auto& c : h.cpus) {
    auto it = std::find_if(h.nodes.begin(), h.nodes.end(),
                           [&](const CpuSet& n) { return n.contains(c.id); });
    if (it == h.nodes.end()) {  // in no node's cpulist: the kernel's default node
      h.nodes[0].add(c.id);
      it = h.nodes.begin();
    }
    c.node = static_cast<uint32_t>(it - h.nodes.begin());
  }
}

}  // namespace

Result<HostTopology> read_host_topology(const fs::path& sysfs_root) {
  const fs::path cpu_root = sysfs_root / "devices/system/cpu";
  HostTopology h;
  KTSTR_ASSIGN(std::string online_text, read_file_limited(cpu_root / "online", kSysfsLimit),
               "reading host topology");
  KTSTR_ASSIGN(CpuSet online, CpuSet::parse_list(online_text),
               "reading host topology: " + (cpu_root / "online").string());
  if (online.empty()) return invalid_argument((cpu_root / "online").string() + ": no online CPUs");
  std::vector<std::optional<CpuSet>> llc_lists;
  KTSTR_TRY(read_cpus(cpu_root, online, h, llc_lists), "reading host topology");
  assign_llcs(online, llc_lists, h);
  KTSTR_TRY(read_nodes(sysfs_root / "devices/system/node", online, h), "reading host topology");
  assign_nodes(h);
  return h;
}

uint32_t HostTopology::num_cores() const {
  std::set<std::vector<uint32_t>> groups;
  for (const auto& c : cpus) groups.insert(c.siblings.to_vector());
  return static_cast<uint32_t>(groups.size());
}

std::optional<Topology> HostTopology::as_regular() const {
  if (nodes.empty() || llcs.empty() || cpus.empty()) return std::nullopt;
  std::vector<uint32_t> llcs_in_node(nodes.size(), 0);
  for (const CpuSet& llc : llcs) {
    auto n = std::find_if(nodes.begin(), nodes.end(),
                          [&](const CpuSet& node) { return llc.is_subset_of(node); });
    if (n == nodes.end()) return std::nullopt;  // an LLC spans nodes
    ++llcs_in_node[static_cast<size_t>(n - nodes.begin())];
  }
  if (std::adjacent_find(llcs_in_node.begin(), llcs_in_node.end(), std::not_equal_to<>()) !=
      llcs_in_node.end())
    return std::nullopt;
  std::vector<uint32_t> cores_in_llc(llcs.size(), 0);
  const size_t threads = cpus.front().siblings.count();
  CpuSet seen;
  for (const auto& c : cpus) {
    if (c.siblings.count() != threads || !c.siblings.is_subset_of(llcs[c.llc])) return std::nullopt;
    if (c.siblings.intersects(seen)) {
      if (!c.siblings.is_subset_of(seen)) return std::nullopt;  // overlapping groups
      continue;
    }
    seen |= c.siblings;
    ++cores_in_llc[c.llc];
  }
  if (std::adjacent_find(cores_in_llc.begin(), cores_in_llc.end(), std::not_equal_to<>()) !=
      cores_in_llc.end())
    return std::nullopt;
  Topology t;
  t.numa_nodes = static_cast<uint32_t>(nodes.size());
  t.llcs = static_cast<uint32_t>(llcs.size());
  t.cores_per_llc = cores_in_llc.front();
  t.threads_per_core = static_cast<uint32_t>(threads);
  if (std::all_of(node_memory_mb.begin(), node_memory_mb.end(), [](uint64_t m) { return m; }))
    t.node_memory_mb = node_memory_mb;
  if (nodes.size() > 1) t.distances = distances;
  return t;
}

}  // namespace ktstr::topo
