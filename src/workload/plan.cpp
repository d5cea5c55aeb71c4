#include "workload/plan.h"

namespace ktstr::workload {

namespace {

Role role_for(WorkType t, uint32_t rank) {
  switch (t) {
    case WorkType::kPipeIo:
    case WorkType::kFutexPingPong:
    case WorkType::kCachePipe:
      return rank == 0 ? Role::kPing : Role::kPong;
    case WorkType::kFutexFanOut:
      return rank == 0 ? Role::kWaker : Role::kWaiter;
    case WorkType::kFanOutCompute:
      return rank == 0 ? Role::kProducer : Role::kConsumer;
    case WorkType::kMutexContention:
      return Role::kContender;
    default:
      return Role::kSolo;
  }
}

}  // namespace

std::string_view to_string(Role r) {
  switch (r) {
    case Role::kSolo:
      return "solo";
    case Role::kPing:
      return "ping";
    case Role::kPong:
      return "pong";
    case Role::kWaker:
      return "waker";
    case Role::kWaiter:
      return "waiter";
    case Role::kProducer:
      return "producer";
    case Role::kConsumer:
      return "consumer";
    case Role::kContender:
      return "contender";
  }
  return "unknown";
}

WorkerPlan plan_workers(const WorkSpec& spec, uint32_t requested) {
  WorkerPlan plan;
  const uint32_t gs = spec.group_size();
  const std::string name(to_string(spec.type));
  if (gs <= 1) {
    plan.group_sizes.assign(requested, 1);
  } else if (requested > 0) {
    const bool pairs = spec.type == WorkType::kPipeIo || spec.type == WorkType::kFutexPingPong ||
                       spec.type == WorkType::kCachePipe;
    uint32_t full = requested / gs;
    uint32_t rest = requested % gs;
    plan.group_sizes.assign(full, gs);
    if (rest >= 2) {
      plan.group_sizes.push_back(rest);
      plan.notes.push_back(name + ": " + std::to_string(requested) +
                           " workers do not fill groups of " + std::to_string(gs) +
                           "; the last group has " + std::to_string(rest));
    } else if (rest == 1) {
      plan.group_sizes.push_back(2);
      plan.notes.push_back(name + ": " + std::to_string(requested) + " workers rounded up to " +
                           std::to_string(requested + 1) +
                           (pairs ? " (pairs)" : " (a group needs at least 2 members)"));
    }
  }
  for (uint32_t g = 0; g < plan.group_sizes.size(); ++g)
    for (uint32_t r = 0; r < plan.group_sizes[g]; ++r)
      plan.slots.push_back({g, r, role_for(spec.type, r)});
  return plan;
}

}  // namespace ktstr::workload
