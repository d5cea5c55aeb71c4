// The ops that ask the host monitor for something (snapshot,
// watch-snapshot, kernel-read, kernel-write): running one through the
// EngineConfig callbacks and recording the outcome. Kept apart from the
// engine so it can be tested without cgroups or workers.
#pragma once

#include <optional>
#include <string>

#include "scenario/engine.h"
#include "scenario/model.h"

namespace ktstr::scenario {

bool is_host_op(const Op& op);

// "snapshot 'after'", "kernel-read 'nr_running'", ... for notes.
std::string describe_host_op(const Op& op);

// Runs a host op (is_host_op) through its callback and records the
// outcome; nullopt when the callback is unset (no host monitor: skip it).
std::optional<HostRequest> run_host_op(const Op& op, const EngineConfig& cfg, uint32_t step);

}  // namespace ktstr::scenario
