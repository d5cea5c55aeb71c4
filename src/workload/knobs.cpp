#include "workload/knobs.h"

#include <linux/mempolicy.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "topology/cpuset.h"

namespace ktstr::workload {

namespace {

struct PolicyName {
  Policy::Kind kind;
  std::string_view name;
  int sched;
};
constexpr PolicyName kPolicies[] = {
    {Policy::Kind::kNormal, "normal", SCHED_OTHER},
    {Policy::Kind::kBatch, "batch", SCHED_BATCH},
    {Policy::Kind::kIdle, "idle", SCHED_IDLE},
    {Policy::Kind::kFifo, "fifo", SCHED_FIFO},
    {Policy::Kind::kRr, "rr", SCHED_RR},
};

struct MemPolicyName {
  MemPolicy::Kind kind;
  std::string_view name;
  int mode;
};
constexpr MemPolicyName kMemPolicies[] = {
    {MemPolicy::Kind::kDefault, "default", MPOL_DEFAULT},
    {MemPolicy::Kind::kBind, "bind", MPOL_BIND},
    {MemPolicy::Kind::kPreferred, "preferred", MPOL_PREFERRED},
    {MemPolicy::Kind::kInterleave, "interleave", MPOL_INTERLEAVE},
    {MemPolicy::Kind::kLocal, "local", MPOL_LOCAL},
};

bool is_rt(Policy::Kind k) { return k == Policy::Kind::kFifo || k == Policy::Kind::kRr; }

std::string join(const std::vector<uint32_t>& v) {
  std::string s;
  for (uint32_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return s;
}

// "0-2,5": the kernel's list syntax, as scenario files write it.
std::string node_list(const std::vector<uint32_t>& nodes) {
  topo::CpuSet set;
  for (uint32_t n : nodes) set.add(n);
  return set.to_list();
}

}  // namespace

// The scenario file's spelling; messages name the text and the fix, since a
// person wrote it (they end up after "policy: " or "mempolicy: ").
Result<Policy> parse_policy(std::string_view text) {
  const auto colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  const std::string quoted = "'" + std::string(text) + "'";
  for (const auto& p : kPolicies) {
    if (p.name != name) continue;
    Policy out{p.kind, 0};
    if (!is_rt(p.kind)) {
      if (colon == std::string_view::npos) return out;
      break;  // "normal:3": not a policy
    }
    std::string_view prio = colon == std::string_view::npos ? "" : text.substr(colon + 1);
    auto [ptr, ec] = std::from_chars(prio.data(), prio.data() + prio.size(), out.priority);
    if (prio.empty() || ec != std::errc() || ptr != prio.data() + prio.size() || out.priority < 1 ||
        out.priority > 99)
      return invalid_argument(quoted + " needs a real-time priority from 1 to 99; use e.g. " +
                              std::string(name) + ":10");
    return out;
  }
  return invalid_argument(quoted +
                          " is not a scheduling policy; use normal, batch, idle, fifo:P or rr:P "
                          "(P 1..99)");
}

std::string to_string(const Policy& p) {
  for (const auto& n : kPolicies)
    if (n.kind == p.kind)
      return is_rt(p.kind) ? std::string(n.name) + ":" + std::to_string(p.priority)
                           : std::string(n.name);
  return "unknown";
}

Status validate(const Policy& p) {
  if (is_rt(p.kind) && (p.priority < 1 || p.priority > 99))
    return invalid_argument("priority " + std::to_string(p.priority) +
                            " out of range; fifo/rr need 1..99");
  if (!is_rt(p.kind) && p.priority != 0)
    return invalid_argument(
        "priority only applies to fifo and rr; drop \":" + std::to_string(p.priority) + "\"");
  return {};
}

Result<MemPolicy> parse_mempolicy(std::string_view text) {
  const auto colon = text.find(':');
  const std::string_view name = text.substr(0, colon);
  const std::string quoted = "'" + std::string(text) + "'";
  for (const auto& m : kMemPolicies) {
    if (m.name != name) continue;
    MemPolicy out{m.kind, {}};
    const bool takes_nodes = m.kind == MemPolicy::Kind::kBind ||
                             m.kind == MemPolicy::Kind::kPreferred ||
                             m.kind == MemPolicy::Kind::kInterleave;
    if (!takes_nodes) {
      if (colon == std::string_view::npos) return out;
      break;  // "local:0": not a policy
    }
    auto nodes = colon == std::string_view::npos ? Result<topo::CpuSet>(invalid_argument(""))
                                                 : topo::CpuSet::parse_list(text.substr(colon + 1));
    if (!nodes.ok() || nodes->empty())
      return invalid_argument(quoted + " needs a non-empty NUMA node list, e.g. " +
                              std::string(name) + ":0");
    if (m.kind == MemPolicy::Kind::kPreferred && nodes->count() != 1)
      return invalid_argument(quoted + " names " + std::to_string(nodes->count()) +
                              " nodes; preferred takes exactly one, e.g. preferred:0");
    out.nodes = nodes->to_vector();
    KTSTR_TRY(validate(out), quoted);
    return out;
  }
  return invalid_argument(quoted +
                          " is not a memory policy; use default, local, bind:NODES, "
                          "preferred:NODE or interleave:NODES");
}

std::string to_string(const MemPolicy& m) {
  for (const auto& n : kMemPolicies)
    if (n.kind == m.kind)
      return m.nodes.empty() ? std::string(n.name) : std::string(n.name) + ":" + node_list(m.nodes);
  return "unknown";
}

Status validate(const MemPolicy& m) {
  using K = MemPolicy::Kind;
  for (uint32_t n : m.nodes)
    if (n >= 1024) return invalid_argument("NUMA node " + std::to_string(n) + " is >= 1024");
  switch (m.kind) {
    case K::kDefault:
    case K::kLocal:
      if (!m.nodes.empty())
        return invalid_argument(to_string(m) + ": default and local take no nodes");
      return {};
    case K::kPreferred:
      if (m.nodes.size() != 1)
        return invalid_argument("preferred takes exactly one node, e.g. preferred:1");
      return {};
    case K::kBind:
    case K::kInterleave:
      if (m.nodes.empty())
        return invalid_argument("bind and interleave need nodes, e.g. interleave:0-1");
      return {};
  }
  return {};
}

Status apply_affinity(pid_t pid, const std::vector<uint32_t>& cpus) {
  if (cpus.empty()) return invalid_argument("affinity: empty CPU list");
  uint32_t max = *std::max_element(cpus.begin(), cpus.end());
  if (max >= topo::CpuSet::kMaxCpus)
    return invalid_argument("affinity: CPU " + std::to_string(max) + " is >= 4096");
  const int ncpus = std::max<int>(static_cast<int>(max) + 1, 1024);
  cpu_set_t* set = CPU_ALLOC(ncpus);
  if (set == nullptr) return io_error("CPU_ALLOC");
  const size_t size = CPU_ALLOC_SIZE(ncpus);
  CPU_ZERO_S(size, set);
  for (uint32_t c : cpus) CPU_SET_S(c, size, set);
  int rc = ::sched_setaffinity(pid, size, set);
  CPU_FREE(set);
  if (rc != 0)
    return io_error("sched_setaffinity(" + std::to_string(pid) + ", CPUs " + join(cpus) +
                    ") (CPUs offline or outside the cgroup's cpuset?)");
  return {};
}

Status apply_policy(pid_t pid, const Policy& p) {
  KTSTR_TRY(validate(p));
  int sched = SCHED_OTHER;
  for (const auto& n : kPolicies)
    if (n.kind == p.kind) sched = n.sched;
  sched_param param{};
  param.sched_priority = p.priority;
  if (::sched_setscheduler(pid, sched, &param) != 0)
    return io_error("sched_setscheduler(" + std::to_string(pid) + ", " + to_string(p) +
                    ") (fifo/rr need root or RLIMIT_RTPRIO)");
  return {};
}

Status apply_nice(pid_t pid, int nice) {
  if (nice < -20 || nice > 19)
    return invalid_argument("nice " + std::to_string(nice) + " out of range; use -20..19");
  errno = 0;
  int cur = ::getpriority(PRIO_PROCESS, static_cast<id_t>(pid));
  if (errno == 0 && cur == nice) return {};
  if (::setpriority(PRIO_PROCESS, static_cast<id_t>(pid), nice) != 0)
    return io_error("setpriority(" + std::to_string(pid) + ", " + std::to_string(nice) +
                    ") (lowering nice needs root or CAP_SYS_NICE)");
  return {};
}

Status apply_mempolicy_self(const MemPolicy& m) {
  if (m.kind == MemPolicy::Kind::kDefault) return {};
  KTSTR_TRY(validate(m));
  int mode = MPOL_DEFAULT;
  for (const auto& n : kMemPolicies)
    if (n.kind == m.kind) mode = n.mode;
  constexpr size_t kBits = 1024;
  unsigned long mask[kBits / (8 * sizeof(unsigned long))] = {};
  const size_t per = 8 * sizeof(unsigned long);
  for (uint32_t n : m.nodes) mask[n / per] |= 1UL << (n % per);
  const bool has_nodes = !m.nodes.empty();
  // maxnode is one more than the bit count: the kernel drops the last bit.
  long rc =
      ::syscall(SYS_set_mempolicy, mode, has_nodes ? mask : nullptr, has_nodes ? kBits + 1 : 0UL);
  if (rc != 0)
    return io_error("set_mempolicy(" + to_string(m) +
                    ") (node offline, outside cpuset.mems, or kernel without CONFIG_NUMA?)");
  return {};
}

}  // namespace ktstr::workload
