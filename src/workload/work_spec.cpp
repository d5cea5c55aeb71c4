#include "workload/work_spec.h"

#include <array>
#include <utility>

namespace ktstr::workload {

namespace {

constexpr std::array<std::pair<WorkType, std::string_view>, 19> kNames = {{
    {WorkType::kCpuSpin, "cpu-spin"},
    {WorkType::kYieldHeavy, "yield-heavy"},
    {WorkType::kMixed, "mixed"},
    {WorkType::kIoSync, "io-sync"},
    {WorkType::kBursty, "bursty"},
    {WorkType::kPipeIo, "pipe-io"},
    {WorkType::kFutexPingPong, "futex-ping-pong"},
    {WorkType::kCachePressure, "cache-pressure"},
    {WorkType::kCacheYield, "cache-yield"},
    {WorkType::kCachePipe, "cache-pipe"},
    {WorkType::kFutexFanOut, "futex-fan-out"},
    {WorkType::kFanOutCompute, "fan-out-compute"},
    {WorkType::kSequence, "sequence"},
    {WorkType::kForkExit, "fork-exit"},
    {WorkType::kNiceSweep, "nice-sweep"},
    {WorkType::kAffinityChurn, "affinity-churn"},
    {WorkType::kPolicyChurn, "policy-churn"},
    {WorkType::kPageFaultChurn, "page-fault-churn"},
    {WorkType::kMutexContention, "mutex-contention"},
}};

constexpr std::array<std::pair<Phase::Kind, std::string_view>, 4> kPhaseNames = {{
    {Phase::Kind::kSpin, "spin"},
    {Phase::Kind::kSleep, "sleep"},
    {Phase::Kind::kYield, "yield"},
    {Phase::Kind::kIo, "io"},
}};

// "field: must be lo..hi for <type>" when v is out of range.
Status check_range(std::string_view field, uint64_t v, uint64_t lo, uint64_t hi, WorkType t) {
  if (v >= lo && v <= hi) return {};
  return invalid_argument(std::string(field) + ": " + std::to_string(v) + " is out of range; " +
                          "must be " + std::to_string(lo) + ".." + std::to_string(hi) + " for " +
                          std::string(to_string(t)));
}

bool uses_cache_buffer(WorkType t) {
  return t == WorkType::kCachePressure || t == WorkType::kCacheYield || t == WorkType::kCachePipe;
}

}  // namespace

std::string_view to_string(WorkType t) {
  for (const auto& [type, name] : kNames)
    if (type == t) return name;
  return "unknown";
}

Result<WorkType> parse_work_type(std::string_view name) {
  for (const auto& [type, n] : kNames)
    if (n == name) return type;
  std::string valid;
  for (const auto& [type, n] : kNames) {
    if (!valid.empty()) valid += ", ";
    valid += n;
  }
  return invalid_argument("unknown work type \"" + std::string(name) + "\"; valid: " + valid);
}

std::vector<WorkType> all_work_types() {
  std::vector<WorkType> out;
  for (const auto& [type, name] : kNames) out.push_back(type);
  return out;
}

std::string_view to_string(Phase::Kind k) {
  for (const auto& [kind, name] : kPhaseNames)
    if (kind == k) return name;
  return "unknown";
}

Result<Phase::Kind> parse_phase_kind(std::string_view name) {
  for (const auto& [kind, n] : kPhaseNames)
    if (n == name) return kind;
  return invalid_argument("unknown phase kind \"" + std::string(name) +
                          "\"; valid: spin, sleep, yield, io");
}

uint32_t WorkSpec::group_size() const {
  switch (type) {
    case WorkType::kPipeIo:
    case WorkType::kFutexPingPong:
    case WorkType::kCachePipe:
      return 2;
    case WorkType::kFutexFanOut:
    case WorkType::kFanOutCompute:
      return 1 + fan_out;
    case WorkType::kMutexContention:
      return contenders;
    default:
      return 1;
  }
}

bool WorkSpec::records_wake_latency() const {
  switch (type) {
    case WorkType::kPipeIo:
    case WorkType::kFutexPingPong:
    case WorkType::kCachePipe:
    case WorkType::kFutexFanOut:
    case WorkType::kFanOutCompute:
      return true;
    default:
      return false;
  }
}

WorkSpec default_spec(WorkType t) {
  WorkSpec s;
  s.type = t;
  if (t == WorkType::kFanOutCompute) s.buffer_kib = 256;
  if (t == WorkType::kSequence) {
    s.phases = {{Phase::Kind::kSpin, 20},
                {Phase::Kind::kSleep, 10},
                {Phase::Kind::kYield, 10},
                {Phase::Kind::kIo, 10}};
  }
  return s;
}

Status validate(const WorkSpec& s) {
  constexpr uint64_t kMaxKib = 1u << 20;  // 1 GiB
  const WorkType t = s.type;
  switch (t) {
    case WorkType::kMixed:
      KTSTR_TRY(check_range("spin_iters", s.spin_iters, 0, 1u << 30, t));
      break;
    case WorkType::kIoSync:
      KTSTR_TRY(check_range("io_bytes", s.io_bytes, 1, 64u << 20, t));
      KTSTR_TRY(check_range("sleep_us", s.sleep_us, 0, 10'000'000, t));
      break;
    case WorkType::kBursty:
      KTSTR_TRY(check_range("burst_ms", s.burst_ms, 1, 60'000, t));
      KTSTR_TRY(check_range("sleep_ms", s.sleep_ms, 0, 60'000, t));
      break;
    case WorkType::kPipeIo:
    case WorkType::kFutexPingPong:
      KTSTR_TRY(check_range("iters", s.iters, 0, 1u << 30, t));
      break;
    case WorkType::kFutexFanOut:
      KTSTR_TRY(check_range("fan_out", s.fan_out, 1, 1024, t));
      KTSTR_TRY(check_range("spin_iters", s.spin_iters, 0, 1u << 30, t));
      break;
    case WorkType::kFanOutCompute:
      KTSTR_TRY(check_range("fan_out", s.fan_out, 1, 1024, t));
      KTSTR_TRY(check_range("buffer_kib", s.buffer_kib, 1, kMaxKib, t));
      KTSTR_TRY(check_range("ops", s.ops, 1, 1'000'000, t));
      KTSTR_TRY(check_range("sleep_us", s.sleep_us, 0, 10'000'000, t));
      break;
    case WorkType::kPageFaultChurn:
      KTSTR_TRY(check_range("region_kib", s.region_kib, 4, kMaxKib, t));
      break;
    case WorkType::kMutexContention:
      KTSTR_TRY(check_range("contenders", s.contenders, 2, 1024, t));
      KTSTR_TRY(check_range("spin_iters", s.spin_iters, 0, 1u << 30, t));
      break;
    case WorkType::kSequence:
      if (s.phases.empty())
        return invalid_argument("phases: sequence needs at least one phase, e.g. spin 20 ms");
      KTSTR_TRY(check_range("phases", s.phases.size(), 1, 64, t));
      for (size_t i = 0; i < s.phases.size(); ++i)
        KTSTR_TRY(check_range("phases[" + std::to_string(i) + "].duration_ms",
                              s.phases[i].duration_ms, 1, 60'000, t));
      KTSTR_TRY(check_range("io_bytes", s.io_bytes, 1, 64u << 20, t));
      break;
    default:
      break;
  }
  if (uses_cache_buffer(t)) {
    KTSTR_TRY(check_range("buffer_kib", s.buffer_kib, 1, kMaxKib, t));
    KTSTR_TRY(check_range("stride", s.stride, 1, uint64_t{s.buffer_kib} * 1024, t));
  }
  return {};
}

}  // namespace ktstr::workload
