// WorkerPlan: how a requested worker count becomes groups of partners
// (pairs, one waker + waiters, contenders) and which role each worker plays.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "workload/work_spec.h"

namespace ktstr::workload {

enum class Role {
  kSolo,       // ungrouped types
  kPing,       // pair member 0: starts each exchange
  kPong,       // pair member 1: answers
  kWaker,      // futex-fan-out member 0
  kWaiter,     // futex-fan-out members 1..
  kProducer,   // fan-out-compute member 0
  kConsumer,   // fan-out-compute members 1..
  kContender,  // mutex-contention, every member
};
std::string_view to_string(Role r);

struct WorkerSlot {
  uint32_t group = 0;  // group number within the set
  uint32_t rank = 0;   // position within the group
  Role role = Role::kSolo;
};

struct WorkerPlan {
  std::vector<uint32_t> group_sizes;  // one entry per group
  std::vector<WorkerSlot> slots;      // one entry per worker, groups contiguous
  std::vector<std::string> notes;     // says when the count was changed
  uint32_t count() const { return static_cast<uint32_t>(slots.size()); }
};

// Rules: solo types get exactly `requested` workers. Pair types
// (pipe-io, futex-ping-pong, cache-pipe) round an odd count up to even.
// Fan-out and mutex types fill groups of group_size(); a remainder of >= 2
// forms a smaller last group (fewer waiters/consumers/contenders) and a
// remainder of 1 is rounded up to a group of 2. Each change adds a note.
WorkerPlan plan_workers(const WorkSpec& spec, uint32_t requested);

}  // namespace ktstr::workload
