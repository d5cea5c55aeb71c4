// One timed VM boot each way, for vm_boot_bench: `ktstr vm --exec true`
// (agent up = SYS_RDY) and QEMU started directly with the same machine
// options and a trivial busybox initramfs (ready = a marker line on the
// serial console). Both end when the guest powers off and QEMU exits.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "util/result.h"

namespace ktstr::bench {

// What one boot took; all times from just before the process was spawned.
struct BootSample {
  double ready_ms = 0;       // ktstr: report boot_ms (QEMU start -> SYS_RDY); bare: marker seen
  double poweroff_ms = 0;    // the whole process (ktstr, or bare QEMU) until it was reaped
  double cpu_ms = 0;         // user + system CPU of the process and its children (QEMU)
  double qemu_total_ms = 0;  // ktstr only: report total_ms (QEMU start -> QEMU gone)
};

struct KtstrRun {
  std::filesystem::path ktstr;  // the ktstr executable
  std::string kernel;           // cache key, so both sides boot the same image
  std::string preset;           // topology preset
  std::string accel;            // auto|kvm|tcg
};

struct KtstrResult {
  BootSample sample;
  std::string accel;                   // as the report says: "tcg"/"kvm"
  std::vector<std::string> qemu_argv;  // the exact QEMU command line ktstr used
};

// Runs `ktstr vm --exec true --report F` with TMPDIR pointing into a private
// temp dir, and fails if ktstr leaves anything there or in /dev/shm.
Result<KtstrResult> run_ktstr_boot(const KtstrRun& run);

// Writes the bare guest's initramfs: /init is a busybox script that prints
// kBareMarker to /dev/console and powers off; /bin/busybox (static) from
// `busybox`; /dev/console.
inline constexpr const char* kBareMarker = "BARE-READY";
Status write_bare_initramfs(const std::filesystem::path& busybox, const std::filesystem::path& out);

// ktstr's QEMU command line reduced to the machine: keeps -nodefaults,
// -no-user-config, -nographic, -no-reboot, -machine, -cpu, -accel, -m,
// -smp, -kernel, -append; swaps -initrd for `initrd`; drops ktstr's own
// plumbing (-name, shm memory backend + -numa, console/bulk/QMP chardevs,
// virtio-serial, -mon, -S); adds -serial stdio. An option it does not know
// is an error, so a new ktstr option gets a conscious keep/drop decision.
Result<std::vector<std::string>> bare_qemu_argv(const std::vector<std::string>& ktstr_argv,
                                                const std::filesystem::path& initrd);

// Runs the bare QEMU command to poweroff, timing the marker and the exit.
Result<BootSample> run_bare_boot(const std::vector<std::string>& argv);

}  // namespace ktstr::bench
