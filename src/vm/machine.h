// Machine: one running QEMU VM, move-only RAII. start() creates a private
// temp dir, listens on the QMP / bulk / console unix sockets, pre-creates
// the guest-RAM shm files, spawns QEMU, accepts its connections and
// negotiates QMP. A reader thread captures the serial console (kPipe) into
// <temp dir>/console.log, a 200-line tail and panic/oops detection, and
// collects QEMU's stderr. The destructor kills QEMU if still running, joins
// the thread and removes the shm files and the temp dir: on every path,
// including errors inside start() and SIGINT/SIGTERM (the caller's loop
// sees util/interrupt.h and unwinds; wait_exit() returns early on it).
//
// Threading: qmp() and the console accessors may be used from any thread;
// the other methods from the owning thread only. A moved-from Machine may
// only be destroyed or assigned to.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"
#include "util/subprocess.h"
#include "vm/qemu_command.h"
#include "vm/qmp.h"

namespace ktstr::vm {

struct StartOptions {
  // Print the QEMU command line and echo QEMU's stderr to our stderr.
  bool verbose = false;
  // Called from the reader thread for each console line (kPipe only).
  std::function<void(std::string_view line)> on_console_line;
  // Empty = "qemu-system-x86_64" on $PATH.
  std::filesystem::path qemu_binary;
  // QEMU must connect its sockets and greet on QMP within this time.
  std::chrono::milliseconds connect_timeout{30000};
  // Where the private temp dir goes; empty = $TMPDIR or /tmp.
  std::filesystem::path temp_base;
  // Run QEMU under `setpriv --pdeathsig KILL` (when setpriv exists) so it
  // dies if ktstr is SIGKILLed. Linux delivers that signal when the THREAD
  // that called start() exits: keep that thread alive as long as the
  // Machine, or turn this off.
  bool kill_with_parent = true;
};

class Machine {
 public:
  // `spec` needs everything but the paths: shm_prefix, bulk_socket,
  // qmp_socket, console_socket and gdb_socket (set iff spec.gdbstub) are
  // (over)written here. First removes
  // shm files and temp dirs left by dead ktstr processes (SIGKILLed ones). If QEMU exits
  // before connecting, the error carries its stderr.
  static Result<Machine> start(MachineSpec spec, StartOptions options = {});

  Machine();
  ~Machine();
  Machine(Machine&&) noexcept;
  Machine& operator=(Machine&&) noexcept;
  Machine(const Machine&) = delete;
  Machine& operator=(const Machine&) = delete;

  // The spec QEMU was started with, paths filled in.
  const MachineSpec& spec() const;
  const std::vector<std::string>& argv() const;
  pid_t qemu_pid() const;

  // Host end of the guest's virtio port "ktstr.bulk" (stream socket, owned
  // by the Machine; valid until it is destroyed).
  int bulk_fd() const;
  // QEMU's gdbstub socket when spec.gdbstub was set (QEMU listens; connect
  // with freeze::GdbClient); empty otherwise. Attaching stops the VM.
  std::filesystem::path gdb_socket() const;
  Qmp& qmp();

  // Console (empty / nullopt in kStdio mode).
  std::vector<std::string> console_tail() const;
  std::optional<std::string> panic_message() const;
  std::vector<std::string> console_incidents() const;
  // <temp dir>/console.log; deleted with the Machine: copy it to keep it.
  std::filesystem::path console_log() const;
  // QEMU's stderr (and stdout in kPipe mode), last 64 KiB.
  std::string qemu_output() const;

  // Guest-RAM files (one per node with memory) and where they sit in
  // guest-physical memory.
  std::vector<std::filesystem::path> shm_files() const;
  std::vector<GuestRamRegion> guest_ram() const;

  // True until QEMU has exited (reaps it when it has).
  bool running();
  // Waits for QEMU to exit by itself (guest poweroff, panic with
  // -no-reboot, QMP quit). kTimeout when still running at the deadline (QEMU
  // keeps running); kFailed "interrupted" as soon as util/interrupt.h saw a
  // signal. After success the console is fully read.
  Result<ExitStatus> wait_exit(Deadline deadline);
  // Ends QEMU: QMP quit, then SIGTERM, then SIGKILL. Idempotent; returns how
  // QEMU ended.
  ExitStatus kill();

 private:
  struct Impl;
  explicit Machine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ktstr::vm
