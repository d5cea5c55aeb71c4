// Ending the run as PID 1: PID 1 must never exit (the kernel would panic),
// so every path ends here, in a power-off the host sees as QEMU exiting.
#pragma once

#include <chrono>

namespace ktstr::guest {

// Prints `why` to the console, waits `delay`, syncs, powers off; falls back
// to reboot (QEMU runs with -no-reboot, so that exits too). Never returns.
[[noreturn]] void power_off(const char* why, std::chrono::milliseconds delay = {});

// Fatal signals (SEGV, BUS, ABRT, FPE, ILL) write a CRASH frame to `port_fd`
// (-1: console only), wait up to `ack_timeout` for the host's ack, and power
// off. Call again once the port is open and once the run spec is known.
void install_crash_handlers(int port_fd, std::chrono::milliseconds ack_timeout = {});

// An eventfd the crash handler signals before it writes CRASH: the host
// channel's reader stops on it, so it does not swallow the host's ack
// (host_channel.h). -1 = none.
void set_crash_quiesce_fd(int eventfd);

}  // namespace ktstr::guest
