// One VM run, top to bottom: resolve the kernel, build the initramfs, boot
// QEMU under the requested topology, wait for the guest agent, stream its
// output, and end in exactly one Outcome. Every path — exit, panic, timeout,
// QEMU dying, Ctrl-C — tears the VM down through the same destructors.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "guest/run_spec.h"
#include "initramfs/builder.h"
#include "runner/observer.h"
#include "topology/topology.h"
#include "util/result.h"
#include "vm/accel.h"
#include "wire/dispatcher.h"

namespace ktstr::runner {

struct VmRunRequest {
  std::optional<std::string> kernel;  // path, cache key, version; absent = newest cached
  topo::Topology topology;
  uint64_t memory_mb = 0;  // 0 = default for the topology
  vm::Accel accel = vm::Accel::kAuto;
  bool kaslr = true;
  std::vector<initramfs::Include> includes;
  // The guest's /init; absent = find_guest_agent(). A custom agent (a ktstr
  // C++ test binary) may be dynamic: its shared libraries come along.
  std::optional<std::filesystem::path> agent;
  guest::RunSpec spec;
  // 0 = default: generous under TCG, tighter under KVM.
  std::chrono::seconds boot_timeout{0};
  std::chrono::seconds run_timeout{0};
  bool verbose = false;  // QEMU command line and kernel console to stderr
  std::function<void(std::span<const uint8_t>)> on_stdout;
  std::function<void(std::span<const uint8_t>)> on_stderr;
  std::function<void(std::string_view)> on_info;  // one-line notes ("using TCG: ...")
  // Watch the guest kernel from the host (monitor, snapshots, kernel ops).
  ObserveOptions observe;
};

enum class Outcome {
  kExited,        // the guest command finished; exit_status is valid
  kPanic,         // the guest kernel panicked
  kAgentCrash,    // ktstr-guest crashed (CRASH frame)
  kBootTimeout,   // no SYS_RDY in time
  kTimeout,       // the command ran past the run timeout
  kQemuDied,      // QEMU exited before the guest finished
  kInterrupted,   // SIGINT/SIGTERM to ktstr
};
std::string_view to_string(Outcome o);

struct VmRunResult {
  Outcome outcome = Outcome::kExited;
  int exit_status = 0;  // guest command status when kExited
  std::string reason;   // one line for every outcome but kExited
  std::string kernel_key;
  std::string accel;         // "tcg" / "kvm"
  std::string accel_reason;  // why that accelerator
  std::optional<uint64_t> kaslr_offset;
  std::optional<uint64_t> phys_base;
  std::map<std::string, uint64_t> frames_by_type;
  uint64_t crc_failures = 0;
  uint64_t framing_errors = 0;
  std::chrono::milliseconds boot_time{0};   // QEMU start -> SYS_RDY
  std::chrono::milliseconds total_time{0};  // QEMU start -> QEMU gone
  std::vector<std::string> console_tail;    // last kernel console lines
  std::vector<wire::VerdictEntry> entries;  // verdict data (LIFECYCLE, DMESG, ...)
  std::vector<std::string> qemu_argv;
  std::optional<Observation> observation;  // when VmRunRequest::observe.enabled
};

// Errors are for bad input and broken set-up (no kernel, no agent, QEMU
// missing); everything that happens once the VM runs is an Outcome.
Result<VmRunResult> run_vm(const VmRunRequest& request);

// The guest agent binary: $KTSTR_GUEST_AGENT, else `ktstr-guest` beside the
// running executable.
Result<std::filesystem::path> find_guest_agent();

// Default guest RAM for a topology: 256 MiB + 32 MiB per CPU, at least the
// per-node floor on every node.
uint64_t default_memory_mb(const topo::Topology& t);

}  // namespace ktstr::runner
