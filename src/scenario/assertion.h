// Snapshot assertions: the [[assert]] tables of a scenario file. Each names
// which snapshots it judges (one named capture, several, or the periodic
// series), a field path into a snapshot's JSON (freeze/snapshot.h), and
// what must hold there. The guest only carries them (they travel inside the
// scenario TOML); the host evaluates them after the run. This header is the
// shared definition plus the structural validation both sides use, so a
// malformed assert fails when the file is read, not after a VM boot.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "util/result.h"

namespace ktstr::scenario {

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe };
std::string_view to_string(CompareOp op);  // "eq", "ne", "lt", "le", "gt", "ge"
Result<CompareOp> parse_compare_op(std::string_view name);

// What a multi-snapshot assert checks (values v1..vn of `path`, in the
// order of `snapshots` or in time order for a series):
//   non_decreasing: v[i] >= v[i-1] for every i                  (no parameters)
//   non_increasing: v[i] <= v[i-1] for every i                  (no parameters)
//   rate:       (vn - v1) per second of workload time between the first and
//               last snapshot lies in [min, max]                (min and/or max)
//   steady:     max(v) - min(v) <= band                          (band)
//   converges:  |vn - value| <= tolerance                        (value, tolerance)
//   always:     every v[i] `op` value                            (op, value)
//   ratio:      path / path2 lies in [min, max] in every snapshot (path2, min and/or max;
//               also valid on a single snapshot)
enum class AssertKind { kNonDecreasing, kNonIncreasing, kRate, kSteady, kConverges, kAlways, kRatio };
std::string_view to_string(AssertKind kind);  // "non_decreasing", ...
// Unknown names get "did you mean" and the list of kinds.
Result<AssertKind> parse_assert_kind(std::string_view name);

// Compared values: numbers, booleans, or strings (eq / ne only).
using AssertValue = std::variant<double, bool, std::string>;

inline constexpr std::string_view kPeriodicSeries = "periodic";
inline constexpr size_t kMaxAssertPath = 256;
inline constexpr size_t kMaxAssertSnapshots = 1000;

struct SnapshotAssertion {
  // Exactly one source.
  std::string snapshot;                // a snapshot op's name (or "watch:<symbol>...")
  std::vector<std::string> snapshots;  // several, judged in this order
  std::string series;                  // "periodic": the host's periodic snapshots
  std::string path;                    // e.g. "global.nr_running" or "maps.bss.vtime_now"
  // A plain comparison (op + value, on one `snapshot`), or a kind.
  std::optional<CompareOp> op;
  std::optional<AssertValue> value;
  std::optional<AssertKind> kind;
  std::optional<double> min, max;   // rate, ratio
  std::optional<double> band;       // steady
  std::optional<double> tolerance;  // converges
  std::string path2;                // ratio: path / path2

  // True when the source names several snapshots (snapshots or series).
  bool several() const { return !snapshots.empty() || !series.empty(); }
  bool operator==(const SnapshotAssertion&) const = default;
};

// What an assert may refer to: the scenario's snapshot op names, the
// symbols its watch-snapshot ops watch, and its periodic snapshot count.
struct AssertionContext {
  std::vector<std::string> snapshot_names;
  std::vector<std::string> watched_symbols;
  uint32_t periodic_snapshots = 0;
};

// One thing wrong with an assert: `key` is the TOML key at fault ("kind",
// "value", ...; "" = the table as a whole), `what` says what is wrong and
// what to do.
struct AssertionProblem {
  std::string key;
  std::string what;
};

// Every problem of `a` (structure, parameters, references), in key order.
std::vector<AssertionProblem> check_assertion(const SnapshotAssertion& a,
                                              const AssertionContext& ctx);
// All asserts at once; one line per problem, "assert[1].kind: ...".
Status validate_assertions(std::span<const SnapshotAssertion> asserts,
                           const AssertionContext& ctx);

// One line for reports: "snapshot 'after' global.nr_running lt 5",
// "series periodic global.nr_running non_decreasing".
std::string describe(const SnapshotAssertion& a);
std::string to_string(const AssertValue& v);

}  // namespace ktstr::scenario
