#include "scenario/values.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <utility>

#include "util/files.h"

namespace ktstr::scenario {

namespace {

constexpr uint32_t kMaxFixedWorkers = 4096;
constexpr uint32_t kMaxScale = 64;

std::optional<uint32_t> parse_u32(std::string_view text) {
  text = trim(text);
  uint32_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

// Splits "kind:rest" at the first ':'; rest is nullopt without a colon.
std::pair<std::string_view, std::optional<std::string_view>> split_kind(std::string_view text) {
  text = trim(text);
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return {text, std::nullopt};
  return {text.substr(0, colon), text.substr(colon + 1)};
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

// ---- WorkerCount ------------------------------------------------------------

Result<WorkerCount> WorkerCount::parse(std::string_view text) {
  text = trim(text);
  constexpr std::string_view kHint =
      "use a count (4) or a scale of the allowed CPUs or LLCs: cpus, 2*cpus, cpus/2, llcs";
  if (auto n = parse_u32(text)) {
    if (*n > kMaxFixedWorkers)
      return invalid_argument("worker count " + std::to_string(*n) + " is above " +
                              std::to_string(kMaxFixedWorkers) + "; use a smaller count");
    return fixed(*n);
  }
  WorkerCount c;
  std::string_view rest = text;
  if (auto star = rest.find('*'); star != std::string_view::npos) {
    auto m = parse_u32(rest.substr(0, star));
    if (!m || *m == 0 || *m > kMaxScale)
      return invalid_argument(quoted(text) + " has a bad multiplier (1.." +
                              std::to_string(kMaxScale) + "); " + std::string(kHint));
    c.mul = *m;
    rest = rest.substr(star + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    auto d = parse_u32(rest.substr(slash + 1));
    if (!d || *d == 0 || *d > kMaxScale)
      return invalid_argument(quoted(text) + " has a bad divisor (1.." +
                              std::to_string(kMaxScale) + "); " + std::string(kHint));
    c.div = *d;
    rest = rest.substr(0, slash);
  }
  rest = trim(rest);
  if (rest == "cpus") {
    c.kind = Kind::kCpus;
  } else if (rest == "llcs") {
    c.kind = Kind::kLlcs;
  } else {
    return invalid_argument(quoted(text) + " is not a worker count; " + std::string(kHint));
  }
  c.count = 0;
  return c;
}

std::string WorkerCount::to_string() const {
  if (kind == Kind::kFixed) return std::to_string(count);
  std::string s = mul != 1 ? std::to_string(mul) + "*" : "";
  s += kind == Kind::kCpus ? "cpus" : "llcs";
  if (div != 1) s += "/" + std::to_string(div);
  return s;
}

uint32_t WorkerCount::resolve(const topo::Topology& topo, const topo::CpuSet& allowed) const {
  if (kind == Kind::kFixed) return count;
  uint64_t base = 0;
  if (kind == Kind::kCpus) {
    base = allowed.count();
  } else {
    for (uint32_t llc = 0; llc < topo.llcs; ++llc)
      if (topo.llc_cpus(llc).intersects(allowed)) ++base;
  }
  return static_cast<uint32_t>(std::max<uint64_t>(1, base * mul / div));
}

// ---- Affinity -----------------------------------------------------------------

Result<Affinity> Affinity::parse(std::string_view text) {
  constexpr std::string_view kHint =
      "use inherit, random-subset, random-subset:N, llc-aligned, cross-cgroup, single-cpu or "
      "exact:LIST";
  auto [kind, arg] = split_kind(text);
  Affinity a;
  if (kind == "inherit" && !arg) {
    a.kind = Kind::kInherit;
  } else if (kind == "random-subset") {
    a.kind = Kind::kRandomSubset;
    if (arg) {
      auto n = parse_u32(*arg);
      if (!n || *n == 0)
        return invalid_argument(quoted(text) + " needs a subset size >= 1 (random-subset:2), "
                                "or no size for half the allowed CPUs");
      a.size = *n;
    }
  } else if (kind == "llc-aligned" && !arg) {
    a.kind = Kind::kLlcAligned;
  } else if (kind == "cross-cgroup" && !arg) {
    a.kind = Kind::kCrossCgroup;
  } else if (kind == "single-cpu" && !arg) {
    a.kind = Kind::kSingleCpu;
  } else if (kind == "exact" && arg) {
    a.kind = Kind::kExact;
    auto cpus = topo::CpuSet::parse_list(*arg);
    if (!cpus.ok() || cpus->empty())
      return invalid_argument(quoted(text) + " needs a non-empty CPU list, e.g. exact:0-1,4");
    a.cpus = std::move(cpus).value();
  } else {
    return invalid_argument(quoted(text) + " is not an affinity mode; " + std::string(kHint));
  }
  return a;
}

std::string Affinity::to_string() const {
  switch (kind) {
    case Kind::kInherit: return "inherit";
    case Kind::kRandomSubset:
      return size == 0 ? "random-subset" : "random-subset:" + std::to_string(size);
    case Kind::kLlcAligned: return "llc-aligned";
    case Kind::kCrossCgroup: return "cross-cgroup";
    case Kind::kSingleCpu: return "single-cpu";
    case Kind::kExact: return "exact:" + cpus.to_list();
  }
  return "inherit";
}

}  // namespace ktstr::scenario
