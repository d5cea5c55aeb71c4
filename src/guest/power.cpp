#include "guest/power.h"

#include <poll.h>
#include <signal.h>
#include <sys/reboot.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "guest/port.h"
#include "wire/protocol.h"

namespace ktstr::guest {

namespace {

constexpr std::array kFatalSignals = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};

// Built before any crash: the handler may only write() what is ready.
struct CrashMessage {
  std::string console;
  std::vector<uint8_t> frame;
};
std::array<CrashMessage, kFatalSignals.size()> g_crash;
std::atomic<int> g_port_fd{-1};
std::atomic<int> g_ack_timeout_ms{0};
std::atomic<int> g_quiesce_fd{-1};
alignas(16) uint8_t g_alt_stack[64 * 1024];

void write_best_effort(int fd, const void* data, size_t n) {
  auto* p = static_cast<const uint8_t*>(data);
  while (fd >= 0 && n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {  // the port is non-blocking: wait a little
      pollfd pf{fd, POLLOUT, 0};
      if (::poll(&pf, 1, 2000) > 0) continue;
    }
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

[[noreturn]] void halt_machine() {
  ::sync();
  ::reboot(RB_POWER_OFF);
  ::reboot(RB_AUTOBOOT);
  for (;;) ::pause();  // reboot failed: still never exit
}

void on_fatal_signal(int sig) {
  int port = g_port_fd.load();
  for (size_t i = 0; i < kFatalSignals.size(); ++i) {
    if (kFatalSignals[i] != sig) continue;
    const auto& m = g_crash[i];
    write_best_effort(STDERR_FILENO, m.console.data(), m.console.size());
    const uint64_t one = 1;
    if (int q = g_quiesce_fd.load(); q >= 0) (void)!::write(q, &one, sizeof one);
    discard_host_input(port);
    write_best_effort(port, m.frame.data(), m.frame.size());
    wait_host_ack(port, std::chrono::milliseconds(g_ack_timeout_ms.load()));
  }
  halt_machine();
}

}  // namespace

void power_off(const char* why, std::chrono::milliseconds delay) {
  std::string line = std::string("ktstr-guest: ") + why + "; powering off\n";
  write_best_effort(STDERR_FILENO, line.data(), line.size());
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
  halt_machine();
}

void set_crash_quiesce_fd(int eventfd) { g_quiesce_fd.store(eventfd); }

void install_crash_handlers(int port_fd, std::chrono::milliseconds ack_timeout) {
  for (size_t i = 0; i < kFatalSignals.size(); ++i) {
    int sig = kFatalSignals[i];
    std::string text = std::string("ktstr-guest crashed: signal ") + std::to_string(sig) + " (" +
                       ::sigdescr_np(sig) + ")";
    g_crash[i].console = text + "\n";
    g_crash[i].frame = wire::encode_frame(wire::MsgType::kCrash, text);
  }
  g_port_fd.store(port_fd);
  g_ack_timeout_ms.store(static_cast<int>(ack_timeout.count()));

  stack_t ss{};
  ss.ss_sp = g_alt_stack;  // a stack overflow must still reach the handler
  ss.ss_size = sizeof g_alt_stack;
  ::sigaltstack(&ss, nullptr);
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sa.sa_flags = SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  for (int sig : kFatalSignals) ::sigaction(sig, &sa, nullptr);
}

}  // namespace ktstr::guest
