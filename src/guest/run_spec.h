// RunSpec: what the guest agent should do, written by the host as JSON into
// the initramfs at kRunSpecPath and read by ktstr-guest (PID 1) at boot.
// Shared by both sides so the file format has exactly one definition.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::guest {

// Where the host puts the run spec inside the guest's root filesystem.
inline constexpr std::string_view kRunSpecPath = "/ktstr/run.json";
// Where the agent itself lives in the initramfs (the kernel runs /init).
inline constexpr std::string_view kAgentPath = "/init";
// Name of the virtio-console port carrying wire frames (QEMU:
// -device virtserialport,name=ktstr.bulk,...).
inline constexpr std::string_view kBulkPortName = "ktstr.bulk";

// The sched_ext scheduler to load before a scenario (scenario/test modes);
// an empty binary means the kernel's EEVDF.
struct SchedulerRunSpec {
  std::string binary;  // path inside the guest
  std::vector<std::string> args;
  std::string ops_name;              // what root/ops must read; empty = any
  uint32_t attach_timeout_ms = 0;    // 0 = the agent's default
  uint32_t watchdog_timeout_ms = 0;  // reported only (already in args when taken)
  bool operator==(const SchedulerRunSpec&) const = default;
};

struct RunSpec {
  // "exec": run `command`; "shell": interactive /bin/sh on ttyS0;
  // "scenario": run `scenario` (TOML) with the scenario engine;
  // "test": run the C++ test named `test` (the agent is a ktstr test binary).
  std::string mode = "exec";       // "exec": run `command`; "shell": interactive /bin/sh on ttyS0
  std::string command;             // run via /bin/sh -c; empty in exec mode = nothing to run
  std::vector<std::string> env;    // "KEY=VALUE", added to the command's environment
  bool forward_dmesg = true;       // forward /dev/kmsg as DMESG frames
  uint32_t poweroff_delay_ms = 0;  // pause before powering off (lets a human read the console)
  // After its last frame (EXIT or CRASH) the agent waits up to this long for
  // the host to write at least one byte to the port, which proves the host
  // has read everything before it. Powering off earlier loses whatever QEMU
  // still holds in the virtqueue when the host reads slowly. 0 = no wait
  // (only safe when QEMU writes the port to a file).
  uint32_t exit_ack_timeout_ms = 10000;
  // Scenario mode: the scenario as TOML text (scenario/toml_writer.h) and
  // the topology spec ("1n2l2c1t") its cpusets resolve against.
  std::string scenario;
  std::string topology;
  // Test mode: the KTSTR_TEST name; `topology` is the VM's, as above.
  std::string test;
  SchedulerRunSpec scheduler;
  // Send /proc/kallsyms (zstd-compressed) once as a KALLSYMS frame, read on a
  // background thread so the run does not wait for it (the host monitor
  // resolves kernel symbols with it).
  bool send_kallsyms = false;
  // How long a scenario op waits for the host to answer a snapshot or
  // kernel-op request before recording a timeout and going on.
  uint32_t host_request_timeout_ms = 30000;
};

bool operator==(const RunSpec& a, const RunSpec& b);

// Pretty-printed JSON object with every field.
std::string to_json(const RunSpec& spec);
// Strict: unknown keys, wrong types, an unknown mode or an env entry without
// '=' are errors naming the field. Missing keys keep their defaults.
Result<RunSpec> parse_run_spec(std::string_view json);

}  // namespace ktstr::guest
