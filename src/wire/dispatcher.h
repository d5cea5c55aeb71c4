// Host-side dispatch of assembled frames: applies each message's rule to the
// sinks (kill, boot complete, KASLR cells, request queues, scenario timing)
// and returns what the verdict keeps. The rule table is in docs/wire.md.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "wire/assembler.h"
#include "wire/sinks.h"

namespace ktstr::wire {

// A frame kept for the verdict/report. crc_ok travels with it: a bad-CRC
// STDOUT frame is still evidence, and consumers decide how to treat it.
struct VerdictEntry {
  uint32_t msg_type = 0;
  std::vector<uint8_t> payload;
  bool crc_ok = false;
  ScenarioTiming::TimePoint received{};  // host clock (Sinks::now) at dispatch
};

// Coordinator-internal and rejected frames return nullopt.
std::optional<VerdictEntry> dispatch(const Frame& frame, Sinks& sinks);
std::optional<VerdictEntry> dispatch(Frame&& frame, Sinks& sinks);  // moves the payload

// Longest KERNEL_OP_REQUEST tag the host keeps (sanitised UTF-8, cut between
// characters).
constexpr size_t kKernelOpTagMax = 256;

}  // namespace ktstr::wire
