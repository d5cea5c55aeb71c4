// A real QEMU without a kernel for gdbstub tests: `-M pc -accel tcg -S`,
// SeaBIOS only, with a gdbstub and a QMP monitor on unix sockets (QEMU
// listens, wait=off). SeaBIOS's timer interrupt increments the BIOS tick
// counter at linear 0x46c (real mode, flat) about 18 times a second, which
// gives write-watchpoint hits without a guest kernel. QEMU is SIGKILLed by
// Child's destructor on every path.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <thread>

#include "util/subprocess.h"
#include "util/temp_dir.h"
#include "vm/qmp.h"

namespace ktstr::freeze::test {

inline constexpr uint64_t kBiosTicks = 0x46c;

class RealQemu {
 public:
  // Empty error string = started; otherwise why not (test skips/fails).
  std::string start() {
    auto qemu = find_program("qemu-system-x86_64");
    if (!qemu.ok()) return "qemu-system-x86_64 not installed";
    auto dir = TempDir::create("ktstr-gdb-test-");
    if (!dir.ok()) return dir.error().message();
    dir_ = std::move(*dir);
    gdb_socket_ = dir_.path() / "gdb.sock";
    qmp_socket_ = dir_.path() / "qmp.sock";
    devnull_ = UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC));
    SpawnOptions so;
    so.devnull_stdin = true;
    so.stdout_fd = devnull_.get();
    so.stderr_fd = devnull_.get();  // "tried to set invalid watchpoint" noise
    auto child = Child::spawn(
        {*qemu, "-M", "pc", "-accel", "tcg", "-nographic", "-nodefaults", "-display", "none",
         "-S", "-chardev",
         "socket,id=gdb0,path=" + gdb_socket_.string() + ",server=on,wait=off", "-gdb",
         "chardev:gdb0", "-chardev",
         "socket,id=qmp,path=" + qmp_socket_.string() + ",server=on,wait=off", "-mon",
         "chardev=qmp,mode=control"},
        so);
    if (!child.ok()) return child.error().message();
    child_ = std::move(*child);
    return "";
  }

  // QMP client (connects once QEMU listens).
  Result<vm::Qmp> qmp(vm::Deadline deadline) {
    while (true) {
      UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, qmp_socket_.c_str(), sizeof addr.sun_path - 1);
      if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0)
        return vm::Qmp::connect(std::move(fd), deadline);
      if (vm::Clock::now() >= deadline) return io_error("connecting to QEMU's QMP socket");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  const std::filesystem::path& gdb_socket() const { return gdb_socket_; }
  bool running() { return child_.running() && !child_.poll(); }

 private:
  TempDir dir_;
  std::filesystem::path gdb_socket_, qmp_socket_;
  UniqueFd devnull_;
  Child child_;  // declared last: killed before the dir goes
};

}  // namespace ktstr::freeze::test
