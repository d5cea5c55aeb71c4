// The QEMU command line for a VM topology: a pure function of MachineSpec,
// unit-tested, so the guest sees exactly the topology ktstr numbers.
//
// Mapping (verified by booting the Debian cloud kernel under TCG and reading
// guest sysfs for 1n1l2c1t, 1n2l2c2t, 1n3l1c1t, 2n2l2c1t, 2n4l1c1t, 1n2l3c1t,
// 1n1l1c2t, 1n1l16c1t, 1n2l4c2t, 4n4l1c1t, 2n4l3c2t): one QEMU *socket* per
// LLC (sockets split the L3 for both AMD and Intel CPU vendors, dies only for
// Intel), `-numa cpu,node-id=llc/llcs_per_node,socket-id=llc`. QEMU numbers
// vCPUs socket-major, then core, then thread, which is ktstr's
//   cpu = ((llc * cores_per_llc) + core) * threads_per_core + thread.
// Guest RAM is one shared file per node (<shm_dir>/<shm_prefix>-nodeN) so
// the host can read it; a node with 0 MiB in node_memory_mb is memoryless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "topology/topology.h"
#include "util/result.h"
#include "vm/accel.h"

namespace ktstr::vm {

// Measured with the Debian 7.2 cloud kernel and a 1 MiB initramfs: 80 MiB
// boots one node, 64 MiB does not; 8 nodes of 12 MiB panic, of 16 MiB boot.
// The floor leaves room for a real initramfs (it is unpacked into RAM).
inline constexpr uint64_t kMinMemoryMb = 128;
inline constexpr uint64_t kMinNodeMemoryMb = 16;
// Highest APIC id QEMU 7.2 accepts without x2apic/interrupt remapping. Ids
// are allocated in power-of-two blocks per core and per socket, so
// 84 LLCs x 3 cores (252 CPUs) already needs id 334 and is refused.
inline constexpr uint64_t kMaxApicId = 254;

enum class ConsoleMode {
  kPipe,   // serial console to console_socket; the host reads it
  kStdio,  // serial console on QEMU's stdin/stdout (interactive shell)
};

struct MachineSpec {
  topo::Topology topology;
  // Total guest RAM. With topology.node_memory_mb set, 0 (= their sum) or
  // exactly their sum; otherwise split evenly (the first nodes get the
  // remainder MiBs).
  uint64_t memory_mb = 0;
  Accel accel = Accel::kTcg;  // resolved: kKvm or kTcg
  std::filesystem::path kernel;
  std::filesystem::path initrd;  // empty = none
  std::string cmdline_extra;     // appended last, so it can override defaults
  bool kaslr = true;
  bool start_paused = false;  // -S: vCPUs wait for Qmp::cont()
  std::filesystem::path shm_dir = "/dev/shm";
  std::string shm_prefix;  // file name stem, no '/'; Machine fills it
  // Unix sockets the HOST listens on and QEMU connects to (Machine fills
  // them). console_socket is used with ConsoleMode::kPipe only.
  std::filesystem::path bulk_socket;
  std::filesystem::path qmp_socket;
  std::filesystem::path console_socket;
  ConsoleMode console = ConsoleMode::kPipe;
  // Request a gdbstub (the freeze coordinator's write watchpoints); Machine
  // then fills gdb_socket. When gdb_socket is non-empty QEMU LISTENS on it
  // (server=on,wait=off: the VM does not wait for a debugger) and stops the
  // VM whenever a gdb client attaches.
  bool gdbstub = false;
  std::filesystem::path gdb_socket;
};

// The virtio-serial port name the guest finds in /sys/class/virtio-ports/*/name.
inline constexpr const char* kBulkPortName = "ktstr.bulk";

// Everything qemu_argv needs, checked up front; one-line errors naming the
// field ("memory_mb 64 is below ...").
Status validate(const MachineSpec& spec);

// Per-node RAM in MiB (node_memory_mb, or memory_mb split evenly).
std::vector<uint64_t> node_memory_mb(const MachineSpec& spec);
uint64_t total_memory_mb(const MachineSpec& spec);
// <shm_dir>/<shm_prefix>-node<N>; memoryless nodes have no file (not listed).
std::filesystem::path node_shm_path(const MachineSpec& spec, uint32_t node);
std::vector<std::filesystem::path> shm_paths(const MachineSpec& spec);

// Where each node's RAM file appears in guest-physical memory. Node files
// are laid end to end in node order; on the `pc` machine RAM below 4 GiB
// ends at 3 GiB when the total is >= 3.5 GiB (else all RAM is low), and the
// rest continues at 4 GiB. A node file may therefore map in two pieces.
struct GuestRamRegion {
  uint32_t node = 0;
  std::filesystem::path shm_path;
  uint64_t file_offset = 0;
  uint64_t guest_phys = 0;
  uint64_t size = 0;  // bytes
};
std::vector<GuestRamRegion> guest_ram_layout(const MachineSpec& spec);

// The kernel command line: console, panic=-1, rdinit=/init, nokaslr when
// !kaslr, then cmdline_extra.
std::string kernel_cmdline(const MachineSpec& spec);

// argv for QEMU; argv[0] is "qemu-system-x86_64" (Machine substitutes the
// binary it found). Precondition: validate(spec) succeeded.
//   TCG: -machine pc -cpu max -accel tcg,thread=single (multi-threaded TCG
//        crashed a guest in 1 of 9 boots; microvm hangs at TSC calibration).
//   KVM: -machine pc -cpu host -accel kvm. UNTESTED: no working KVM on the
//        development machine; `pc` keeps the RAM layout identical to TCG.
std::vector<std::string> qemu_argv(const MachineSpec& spec);

}  // namespace ktstr::vm
