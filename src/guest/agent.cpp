// run_agent: the agent's life as PID 1 (see agent.h). PID 1 must never
// exit, so every path ends in power_off().
#include "guest/agent.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <string>

#include "guest/kallsyms_sender.h"
#include "guest/kernel_addrs.h"
#include "guest/port.h"
#include "guest/power.h"
#include "guest/pump.h"
#include "guest/shell.h"
#include "guest/system.h"
#include "util/fd.h"
#include "util/files.h"

namespace ktstr::guest {
namespace {

using namespace std::chrono_literals;
using wire::LifecyclePhase;

constexpr auto kPortTimeout = 10s;

// Until the run spec says otherwise.
std::chrono::milliseconds g_ack_timeout{RunSpec{}.exit_ack_timeout_ms};

// Sends the run's last frame; says so on the console when the host did not
// confirm it read everything. Every other frame must be out by then: the
// scenario's host channel was stopped when its mode returned (host_channel.h).
Status send_last(Reporter& rep, wire::MsgType type, std::span<const uint8_t> payload) {
  KTSTR_ASSIGN(bool acked, rep.send_last(type, payload, g_ack_timeout));
  if (!acked && g_ack_timeout.count() > 0)
    rep.console("the host did not acknowledge the last frame within " +
                std::to_string(g_ack_timeout.count()) + " ms; it may miss the end of the output");
  return {};
}

// Without /dev/console in the initramfs the kernel starts us with no
// stdio; devtmpfs has it, so reopen once /dev is mounted.
void ensure_console() {
  if (::fcntl(STDERR_FILENO, F_GETFD) >= 0) return;
  int fd = ::open("/dev/console", O_RDWR | O_NOCTTY);
  if (fd < 0) return;
  for (int i = 0; i < 3; ++i)
    if (::fcntl(i, F_GETFD) < 0) ::dup2(fd, i);
  if (fd > 2) ::close(fd);
}

std::string summarize(const std::vector<SetupStep>& steps) {
  std::string failed;
  for (const auto& s : steps)
    if (!s.error.empty()) failed += (failed.empty() ? "" : "; ") + s.what + ": " + s.error;
  return failed.empty() ? "filesystems mounted, cgroup +cpu +cpuset enabled"
                        : "set up with failures: " + failed;
}

// Fatal for the run but not the agent: say why on every channel, power off.
[[noreturn]] void fail(Reporter& rep, const std::string& why) {
  rep.console(why);
  (void)send_last(rep, wire::MsgType::kCrash, wire::as_bytes(why));
  power_off(why.c_str());
}

UniqueFd open_kmsg(Reporter& rep) {
  UniqueFd fd(::open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) rep.console("cannot open /dev/kmsg; kernel log not forwarded");
  return fd;
}

// Runs what the spec asks; returns the EXIT status to report.
Result<int> run_spec(const RunSpec& spec, const AgentHooks& hooks, Reporter& rep, FrameSink& sink) {
  UniqueFd kmsg = spec.forward_dmesg ? open_kmsg(rep) : UniqueFd();
  if (spec.mode == "shell") {
    rep.step(LifecyclePhase::kCommandStart, "interactive /bin/sh on /dev/ttyS0");
    ShellOptions opts;
    opts.env = spec.env;
    opts.kmsg_fd = kmsg.get();
    KTSTR_ASSIGN(ExitStatus st, run_interactive_shell(opts, sink), "running the shell");
    rep.step(LifecyclePhase::kCommandEnd, "shell: " + st.describe());
    return exit_code_of(st);
  }
  if (spec.mode != "exec") {
    if (!hooks.run_mode)
      return invalid_argument("run spec mode \"" + spec.mode + "\" is not supported by this agent");
    return hooks.run_mode(spec, rep, sink);
  }
  rep.step(LifecyclePhase::kCommandStart, spec.command);
  PumpOptions opts;
  opts.command = spec.command;
  opts.env = spec.env;
  opts.kmsg_fd = kmsg.get();
  opts.reap_orphans = true;
  KTSTR_ASSIGN(ExitStatus st, run_and_forward(opts, sink), "running the command");
  rep.step(LifecyclePhase::kCommandEnd, st.describe());
  return exit_code_of(st);
}

[[noreturn]] void agent_main(const AgentHooks& hooks) {
  Reporter rep;
  auto steps = prepare_system();
  ensure_console();
  std::string mounted = summarize(steps);

  auto port = open_port("/sys", "/dev", kBulkPortName, kPortTimeout);
  if (!port.ok())
    power_off((mounted + "; no wire port: " + port.error().message() +
               "; the host must add -device virtserialport,name=ktstr.bulk")
                  .c_str());
  FrameSink sink(port->get());
  rep.attach(&sink);
  install_crash_handlers(port->get(), g_ack_timeout);

  if (auto st = rep.sys_rdy(); !st.ok()) power_off(st.error().message().c_str());
  rep.step(LifecyclePhase::kMounted, mounted);
  rep.step(LifecyclePhase::kPortOpen, std::string(kBulkPortName));

  KernAddrs addrs = collect_kern_addrs();
  if (!addrs.notes.empty()) rep.console("kernel addresses: " + addrs.notes);
  if (auto st = rep.kern_addrs(addrs); !st.ok()) fail(rep, st.error().message());

  auto text = read_file_limited(kRunSpecPath, 1 << 20);
  if (!text.ok()) {
    rep.step(LifecyclePhase::kPoweroff, "no " + std::string(kRunSpecPath) + ": nothing to run");
    power_off("nothing to run");
  }
  auto spec = parse_run_spec(*text);
  if (!spec.ok()) fail(rep, spec.error().message());
  g_ack_timeout = std::chrono::milliseconds(spec->exit_ack_timeout_ms);
  install_crash_handlers(port->get(), g_ack_timeout);
  const auto delay = std::chrono::milliseconds(spec->poweroff_delay_ms);
  if (spec->mode == "exec" && spec->command.empty()) {
    rep.step(LifecyclePhase::kPoweroff, "run spec has no command: nothing to run");
    power_off("nothing to run", delay);
  }
  // Before the run, so the host monitor is attached when the scenario
  // starts. Only on a kernel's first boot: the host keeps the symbols.
  if (spec->send_kallsyms)
    if (auto st = send_kallsyms(sink); !st.ok()) rep.console("KALLSYMS not sent: " + st.error().message());

  auto status = run_spec(*spec, hooks, rep, sink);
  if (!status.ok()) fail(rep, status.error().message());
  reap_children_except(-1);

  // EXIT goes last: the host's ack of it covers every frame before it.
  rep.step(LifecyclePhase::kPoweroff, "exit status " + std::to_string(*status));
  auto exit_msg = wire::encode(wire::ExitStatus{*status});
  if (auto st = send_last(rep, wire::MsgType::kExit, exit_msg); !st.ok())
    power_off(st.error().message().c_str(), delay);
  power_off("done", delay);
}

}  // namespace

int run_agent(const AgentHooks& hooks, std::string_view program) {
  // It mounts filesystems and powers the machine off: never on a host.
  if (::getpid() != 1) {
    std::string msg(program);
    msg += ": refusing to run: not PID 1 (this is the init of a ktstr VM, started by the kernel)\n";
    (void)write_all(STDERR_FILENO, std::string_view(msg));
    return 2;
  }
  install_crash_handlers(-1);
  ::signal(SIGPIPE, SIG_IGN);  // a closed pipe is an error return, not death
  std::set_terminate([] { power_off("internal error: std::terminate"); });
  try {
    agent_main(hooks);
  } catch (const std::exception& e) {
    power_off((std::string("internal error: ") + e.what()).c_str());
  } catch (...) {
    power_off("internal error: unknown exception");
  }
}

}  // namespace ktstr::guest

