#include "topology/cpuset_spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "topology/detail/text.h"
#include "util/files.h"

namespace ktstr::topo {

namespace {

constexpr std::string_view kKinds =
    "use llc:K, numa:K, range:A-B, disjoint:I/N, overlap:I/N:PCT or exact:LIST";

Result<uint32_t> parse_u32(std::string_view text, std::string_view what) {
  auto v = detail::parse_u64(trim(text));
  if (!v || *v > UINT32_MAX)
    return invalid_argument(fmt::format("'{}' is not a valid {}", detail::one_line(text), what));
  return static_cast<uint32_t>(*v);
}

// "I/N" with N >= 1 and I < N.
Status parse_partition(std::string_view text, CpusetSpec& s) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return invalid_argument(fmt::format("'{}' is not I/N (e.g. 0/2)", detail::one_line(text)));
  KTSTR_ASSIGN(s.index, parse_u32(text.substr(0, slash), "partition index"));
  KTSTR_ASSIGN(s.parts, parse_u32(text.substr(slash + 1), "partition count"));
  if (s.parts == 0) return invalid_argument("partition count must be >= 1");
  if (s.index >= s.parts)
    return invalid_argument(
        fmt::format("partition index {} must be below the count {}", s.index, s.parts));
  return {};
}

Status parse_range(std::string_view text, CpusetSpec& s) {
  auto dash = text.find('-');
  std::string_view a = trim(text.substr(0, dash));
  std::string_view b = dash == std::string_view::npos ? a : trim(text.substr(dash + 1));
  if (text.find('.') != std::string_view::npos) {
    auto f = detail::parse_fraction(a), g = detail::parse_fraction(b);
    if (dash == std::string_view::npos || !f || !g)
      return invalid_argument(
          fmt::format("'{}' is not a fraction range like 0.0-0.5", detail::one_line(text)));
    if (!(*f < *g) || *g > 1.0)
      return invalid_argument(
          fmt::format("fraction range {}-{} needs 0 <= start < end <= 1", *f, *g));
    s.kind = CpusetSpec::Kind::kFractionRange;
    s.from = *f;
    s.to = *g;
    return {};
  }
  s.kind = CpusetSpec::Kind::kRange;
  KTSTR_ASSIGN(s.first, parse_u32(a, "CPU number"));
  KTSTR_ASSIGN(s.last, parse_u32(b, "CPU number"));
  if (s.last < s.first)
    return invalid_argument(fmt::format("range end {} is below start {}", s.last, s.first));
  return {};
}

Status parse_body(std::string_view kind, std::string_view body, CpusetSpec& s) {
  using K = CpusetSpec::Kind;
  if (kind == "llc" || kind == "numa") {
    s.kind = kind == "llc" ? K::kLlc : K::kNuma;
    KTSTR_ASSIGN(s.index, parse_u32(body, kind == "llc" ? "LLC index" : "NUMA node index"));
    return {};
  }
  if (kind == "range") return parse_range(body, s);
  if (kind == "disjoint") {
    s.kind = K::kDisjoint;
    return parse_partition(body, s);
  }
  if (kind == "overlap") {
    s.kind = K::kOverlap;
    auto colon = body.rfind(':');
    if (colon == std::string_view::npos)
      return invalid_argument("overlap needs I/N:PCT, e.g. overlap:0/2:25");
    KTSTR_TRY(parse_partition(body.substr(0, colon), s));
    KTSTR_ASSIGN(s.pct, parse_u32(body.substr(colon + 1), "overlap percentage"));
    if (s.pct > 100)
      return invalid_argument(fmt::format("overlap percentage {} exceeds 100", s.pct));
    return {};
  }
  if (kind == "exact") {
    s.kind = K::kExact;
    KTSTR_ASSIGN(s.cpus, CpuSet::parse_list(body));
    if (s.cpus.empty()) return invalid_argument("exact needs at least one CPU, e.g. exact:0-3");
    return {};
  }
  return invalid_argument(fmt::format("unknown kind '{}'; {}", detail::one_line(kind), kKinds));
}

// [begin, end) of partition i of n over `cpus` CPUs.
std::pair<uint32_t, uint32_t> partition(uint32_t i, uint32_t n, uint32_t cpus) {
  auto at = [&](uint64_t k) { return static_cast<uint32_t>(k * cpus / n); };
  return {at(i), at(uint64_t{i} + 1)};
}

CpuSet half_open(uint32_t begin, uint32_t end) {
  return end > begin ? CpuSet::range(begin, end - 1) : CpuSet{};
}

// Always has a '.', so the text parses back as a fraction range.
std::string fraction_text(double f) {
  std::string s = fmt::format("{:.6g}", f);
  if (s.find('.') == std::string::npos) s += ".0";
  return s;
}

std::string list_or_none(uint32_t count) {
  return count == 1 ? "0" : fmt::format("0-{}", count - 1);
}

}  // namespace

Result<CpusetSpec> CpusetSpec::parse(std::string_view spec) {
  const std::string ctx = fmt::format("cpuset '{}'", detail::one_line(spec));
  std::string_view s = trim(spec);
  auto colon = s.find(':');
  if (colon == std::string_view::npos)
    return invalid_argument(std::string("missing 'kind:'; ") + std::string(kKinds)).context(ctx);
  CpusetSpec out;
  out.text = std::string(s);
  KTSTR_TRY(parse_body(trim(s.substr(0, colon)), trim(s.substr(colon + 1)), out), ctx);
  return out;
}

Result<CpuSet> CpusetSpec::resolve(const Topology& t) const {
  const std::string ctx =
      fmt::format("cpuset '{}'", text.empty() ? to_string() : detail::one_line(text));
  const uint32_t n = t.num_cpus();
  const std::string shape = t.to_string();
  switch (kind) {
    case Kind::kLlc:
      if (index >= t.llcs)
        return invalid_argument(fmt::format("llc {} does not exist (topology {} has llcs {})",
                                            index, shape, list_or_none(t.llcs)))
            .context(ctx);
      return t.llc_cpus(index);
    case Kind::kNuma:
      if (index >= t.numa_nodes)
        return invalid_argument(
                   fmt::format("numa node {} does not exist (topology {} has nodes {})", index,
                               shape, list_or_none(t.numa_nodes)))
            .context(ctx);
      return t.node_cpus(index);
    case Kind::kRange:
      if (last >= n)
        return invalid_argument(fmt::format("cpu {} does not exist (topology {} has cpus {})", last,
                                            shape, list_or_none(n)))
            .context(ctx);
      return CpuSet::range(first, last);
    case Kind::kFractionRange: {
      auto at = [&](double f) { return static_cast<uint32_t>(std::floor(f * n + 0.5)); };
      CpuSet out = half_open(at(from), std::min(at(to), n));
      if (out.empty())
        return invalid_argument(fmt::format("selects no CPUs of the {} in topology {}", n, shape))
            .context(ctx);
      return out;
    }
    case Kind::kDisjoint:
    case Kind::kOverlap: {
      if (parts > n)
        return invalid_argument(
                   fmt::format("{} partitions of the {} CPUs in topology {} would leave some empty",
                               parts, n, shape))
            .context(ctx);
      auto [b, e] = partition(index, parts, n);
      if (kind == Kind::kOverlap) {
        uint64_t ext = (uint64_t{pct} * n + 50ull * parts) / (100ull * parts);
        b = b > ext ? static_cast<uint32_t>(b - ext) : 0;
        e = static_cast<uint32_t>(std::min<uint64_t>(n, e + ext));
      }
      return half_open(b, e);
    }
    case Kind::kExact:
      if (auto hi = cpus.last(); hi && *hi >= n)
        return invalid_argument(fmt::format("cpu {} does not exist (topology {} has cpus {})", *hi,
                                            shape, list_or_none(n)))
            .context(ctx);
      return cpus;
  }
  return Error(Errc::kInternal, "unhandled cpuset kind").context(ctx);
}

std::string CpusetSpec::to_string() const {
  switch (kind) {
    case Kind::kLlc:
      return fmt::format("llc:{}", index);
    case Kind::kNuma:
      return fmt::format("numa:{}", index);
    case Kind::kRange:
      return first == last ? fmt::format("range:{}", first)
                           : fmt::format("range:{}-{}", first, last);
    case Kind::kFractionRange:
      return fmt::format("range:{}-{}", fraction_text(from), fraction_text(to));
    case Kind::kDisjoint:
      return fmt::format("disjoint:{}/{}", index, parts);
    case Kind::kOverlap:
      return fmt::format("overlap:{}/{}:{}", index, parts, pct);
    case Kind::kExact:
      return "exact:" + cpus.to_list();
  }
  return "?";
}

Result<CpuSet> resolve_cpuset_spec(std::string_view spec, const Topology& topo) {
  KTSTR_ASSIGN(CpusetSpec s, CpusetSpec::parse(spec));
  return s.resolve(topo);
}

}  // namespace ktstr::topo
