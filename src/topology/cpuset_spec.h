// Topology-relative cpuset specs ("llc:1", "disjoint:0/2", ...) as written in
// scenario files, resolved against a Topology into a concrete CpuSet.
//
//   llc:K            the CPUs of LLC K (global index)
//   numa:K           the CPUs of NUMA node K
//   range:A-B        CPUs A..B inclusive (absolute ids; "range:A" = one CPU)
//   range:F-G        fractions of the CPU count N when either bound has a '.':
//                    CPUs [round(F*N), round(G*N)), rounding halves up, so
//                    range:0.0-0.5 is the first half; 0 <= F < G <= 1
//   disjoint:I/N     the I-th (0-based) of N equal, contiguous, disjoint
//                    partitions of all CPUs: partition i starts at
//                    floor(i*cpus/N), so sizes differ by at most one and the
//                    partitions align to LLC boundaries when N divides llcs
//   overlap:I/N:P    disjoint:I/N widened on both sides by round(P% of
//                    cpus/N) CPUs (clipped to the CPU range), so neighbours
//                    overlap; P is an integer 0..100
//   exact:LIST       a kernel cpu list, e.g. exact:0-3,8
// Every resolved set is non-empty and inside the topology.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "topology/cpuset.h"
#include "topology/topology.h"
#include "util/result.h"

namespace ktstr::topo {

struct CpusetSpec {
  enum class Kind { kLlc, kNuma, kRange, kFractionRange, kDisjoint, kOverlap, kExact };
  Kind kind = Kind::kExact;
  uint32_t index = 0;            // llc/numa id; partition I for disjoint/overlap
  uint32_t parts = 0;            // N for disjoint/overlap
  uint32_t pct = 0;              // overlap percentage
  uint32_t first = 0, last = 0;  // kRange, inclusive
  double from = 0.0, to = 0.0;   // kFractionRange
  CpuSet cpus;                   // kExact
  std::string text;              // as written, for error messages; empty when built in code

  // Syntax only; topology-dependent checks happen in resolve().
  static Result<CpusetSpec> parse(std::string_view spec);
  Result<CpuSet> resolve(const Topology& topo) const;
  std::string to_string() const;  // canonical spec text (parses back to this)
};

// parse + resolve; errors read "cpuset 'llc:9': llc 9 does not exist (...)".
Result<CpuSet> resolve_cpuset_spec(std::string_view spec, const Topology& topo);

}  // namespace ktstr::topo
