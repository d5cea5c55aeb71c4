#include "runner/vm_run.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "kernel/cache.h"
#include "kernel/config.h"
#include "runner/guest_link.h"
#include "util/files.h"
#include "util/interrupt.h"
#include "util/temp_dir.h"
#include "vm/machine.h"
#include "vm/qemu_command.h"
#include "wire/sinks.h"

namespace ktstr::runner {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

milliseconds since(Clock::time_point t0) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t0);
}

// Timeouts know the accelerator: TCG boots a kernel ~10x slower than KVM and
// shares two host cores with parallel tests.
seconds default_boot_timeout(vm::Accel a) { return a == vm::Accel::kKvm ? seconds(60) : seconds(240); }
seconds default_run_timeout(vm::Accel a) { return a == vm::Accel::kKvm ? seconds(600) : seconds(1800); }

void warn_config(const kernel::KernelEntry& k, const VmRunRequest& req) {
  if (k.config.empty() || !req.on_info) return;
  auto text = read_file(k.config);
  if (!text.ok()) return;
  auto check = kernel::check_config(kernel::KernelConfig::parse(*text));
  for (auto& w : check.warnings) req.on_info("kernel " + k.key + ": " + w);
}

Result<std::filesystem::path> build_initrd(const VmRunRequest& req, const guest::RunSpec& spec,
                                           const std::filesystem::path& run_dir) {
  initramfs::BaseSpec base;
  initramfs::OverlaySpec overlay;
  overlay.includes = req.includes;
  if (req.agent) {
    // A custom agent changes with every build of it: it goes into the
    // per-run overlay, which replaces the base's /init (busybox as a
    // placeholder), so the cached bases do not grow a copy per build.
    base.agent = base.busybox;
    overlay.includes.push_back({*req.agent, std::string(guest::kAgentPath), false});
  } else {
    KTSTR_ASSIGN(base.agent, find_guest_agent());
  }
  KTSTR_ASSIGN(auto base_path, initramfs::build_base(base, kernel::cache_root() / ".initramfs"),
               "building the guest initramfs");
  overlay.files.emplace_back(std::string(guest::kRunSpecPath), guest::to_json(spec));
  auto overlay_path = run_dir / "overlay.cpio";
  KTSTR_TRY(initramfs::write_overlay(overlay, overlay_path), "building the per-run initramfs");
  auto initrd = run_dir / "initrd.cpio";
  KTSTR_TRY(initramfs::concatenate({base_path, overlay_path}, initrd));
  return initrd;
}

std::string last_lines(const std::vector<std::string>& lines, size_t n) {
  std::string out;
  size_t start = lines.size() > n ? lines.size() - n : 0;
  for (size_t i = start; i < lines.size(); ++i) out += "\n  | " + lines[i];
  return out;
}

}  // namespace

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::kExited: return "exited";
    case Outcome::kPanic: return "panic";
    case Outcome::kAgentCrash: return "agent-crash";
    case Outcome::kBootTimeout: return "boot-timeout";
    case Outcome::kTimeout: return "timeout";
    case Outcome::kQemuDied: return "qemu-died";
    case Outcome::kInterrupted: return "interrupted";
  }
  return "?";
}

uint64_t default_memory_mb(const topo::Topology& t) {
  uint64_t mb = 256 + 32ull * t.num_cpus();
  return std::max<uint64_t>(mb, vm::kMinNodeMemoryMb * t.numa_nodes);
}

Result<std::filesystem::path> find_guest_agent() {
  if (const char* env = std::getenv("KTSTR_GUEST_AGENT"); env && *env) {
    if (::access(env, X_OK) != 0) return not_found(std::string("KTSTR_GUEST_AGENT=") + env + " is not an executable file");
    return std::filesystem::path(env);
  }
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return io_error("cannot find the running executable");
  auto agent = self.parent_path() / "ktstr-guest";
  if (::access(agent.c_str(), X_OK) != 0)
    return not_found("guest agent " + agent.string() +
                     " not found; build it (make build) or set KTSTR_GUEST_AGENT");
  return agent;
}

Result<VmRunResult> run_vm(const VmRunRequest& req) {
  // Inputs first: every bad-input error comes before anything starts.
  KTSTR_TRY(req.topology.validate(), "topology");
  KTSTR_ASSIGN(auto kern, kernel::resolve_kernel(req.kernel), "--kernel");
  vm::MachineSpec spec;
  spec.topology = req.topology;
  spec.memory_mb = req.memory_mb ? req.memory_mb : default_memory_mb(req.topology);
  spec.kernel = kern.image;
  spec.kaslr = req.kaslr;
  spec.console = req.spec.mode == "shell" ? vm::ConsoleMode::kStdio : vm::ConsoleMode::kPipe;
  spec.gdbstub = req.observe.enabled;  // watchpoints for watch-snapshot
  {
    // Validate now, so bad input fails before anything starts; Machine::start
    // fills in the paths (shm prefix, sockets) itself.
    vm::MachineSpec check = spec;
    check.shm_prefix = "ktstr-check";
    check.bulk_socket = check.qmp_socket = check.console_socket = "/run/ktstr-check.sock";
    KTSTR_TRY(vm::validate(check));
  }
  KTSTR_ASSIGN(auto accel, vm::resolve_accel(req.accel), "--accel");
  spec.accel = accel.accel;
  warn_config(kern, req);
  if (req.on_info) req.on_info("accelerator " + std::string(vm::to_string(accel.accel)) + ": " + accel.reason);

  KTSTR_ASSIGN(TempDir run_dir, TempDir::create("ktstr-run-"));
  // The guest sends its symbols only when the host has none for this kernel.
  guest::RunSpec run_spec = req.spec;
  const auto symbol_cache = kern.cached ? symbol_cache_path(kern.dir) : std::filesystem::path();
  if (req.observe.enabled)
    run_spec.send_kallsyms = symbol_cache.empty() || !std::filesystem::exists(symbol_cache);
  KTSTR_ASSIGN(spec.initrd, build_initrd(req, run_spec, run_dir.path()));

  wire::SinksConfig sink_cfg;
  sink_cfg.link_text = kern.link_text.value_or(0);
  KTSTR_ASSIGN(auto sinks, wire::Sinks::create(sink_cfg));

  VmRunResult result;
  result.kernel_key = kern.key;
  result.accel = std::string(vm::to_string(accel.accel));
  result.accel_reason = accel.reason;

  vm::StartOptions opts;
  opts.verbose = req.verbose;
  if (req.verbose)
    opts.on_console_line = [](std::string_view line) {
      std::fprintf(stderr, "console: %.*s\n", static_cast<int>(line.size()), line.data());
    };
  auto t0 = Clock::now();
  KTSTR_ASSIGN(vm::Machine machine, vm::Machine::start(spec, opts), "starting QEMU");
  result.qemu_argv = machine.argv();

  GuestLinkCallbacks cb;
  cb.on_stdout = req.on_stdout;
  cb.on_stderr = req.on_stderr;
  KTSTR_ASSIGN(auto link, GuestLink::start(machine.bulk_fd(), *sinks, cb));
  std::unique_ptr<Observer> observer;
  if (req.observe.enabled) {
    ObserverContext octx{machine, *sinks,
                         [&link](wire::MsgType t, std::span<const uint8_t> p) { return link->send(t, p); },
                         kern.btf, kern.system_map, symbol_cache,
                         kern.link_text.value_or(0), req.topology.num_cpus()};
    observer = Observer::start(std::move(octx), req.observe);
  }

  auto boot_timeout = req.boot_timeout.count() ? req.boot_timeout : default_boot_timeout(accel.accel);
  auto run_timeout = req.run_timeout.count() ? req.run_timeout : default_run_timeout(accel.accel);
  auto boot_deadline = t0 + boot_timeout;
  std::optional<Clock::time_point> run_deadline;
  std::optional<Clock::time_point> kill_deadline;
  bool finished = false, decided = false;

  auto decide = [&](Outcome o, std::string reason) {
    result.outcome = o;
    result.reason = std::move(reason);
    decided = true;
  };

  while (!decided) {
    pollfd pfds[4] = {{interrupt_fd(), POLLIN, 0},
                      {sinks->boot_complete.fd(), POLLIN, 0},
                      {link->finished().fd(), POLLIN, 0},
                      {link->closed().fd(), POLLIN, 0}};
    // boot_complete stays readable once fired: stop polling it then.
    if (run_deadline) pfds[1].fd = -1;
    ::poll(pfds, 4, 100);

    if (interrupted()) {
      decide(Outcome::kInterrupted, "interrupted by signal " + std::to_string(interrupt_signal()));
      break;
    }
    if (!run_deadline && sinks->boot_complete.is_set()) {
      result.boot_time = since(t0);
      run_deadline = Clock::now() + run_timeout;
    }
    if (link->finished().is_set()) {
      finished = true;
      break;
    }
    // SCHED_EXIT: the scheduler under test died. The agent stops the
    // scenario and reports what it collected; give it a bounded time.
    if (sinks->kill.is_set() && !kill_deadline) {
      kill_deadline = Clock::now() + (accel.accel == vm::Accel::kKvm ? seconds(10) : seconds(45));
      if (req.on_info) req.on_info("scheduler exited (SCHED_EXIT); ending the run early");
    }
    if (kill_deadline && Clock::now() > *kill_deadline) {
      decide(Outcome::kTimeout, "the scheduler died and the guest did not finish reporting in time");
      break;
    }
    if (machine.panic_message()) break;  // classified below, once the console is drained
    if (!machine.running()) break;
    if (!run_deadline && Clock::now() > boot_deadline)
      decide(Outcome::kBootTimeout, "guest agent did not report ready within " +
                                        std::to_string(boot_timeout.count()) + " s");
    else if (run_deadline && Clock::now() > *run_deadline)
      decide(Outcome::kTimeout, "guest command timed out after " +
                                    std::to_string(run_timeout.count()) + " s");
  }

  if (observer) {
    // Before QEMU goes away: the observer talks QMP and reads guest RAM.
    observer->stop();
    result.observation = observer->result();
  }
  if (finished) {
    // The agent powers off after EXIT: give it time, then end QEMU ourselves.
    auto st = machine.wait_exit(vm::deadline_in(milliseconds(accel.accel == vm::Accel::kKvm ? 10000 : 60000)));
    if (!st.ok()) machine.kill();
  } else if (!decided) {
    // QEMU is exiting or gone: collect its status and the whole console.
    auto st = machine.wait_exit(vm::deadline_in(milliseconds(5000)));
    if (auto panic = machine.panic_message()) {
      decide(Outcome::kPanic, "guest kernel panicked: " + *panic);
    } else {
      std::string how = st.ok() ? st->describe() : "did not exit";
      decide(Outcome::kQemuDied, "QEMU exited (" + how + ") before the guest command finished");
    }
    machine.kill();
  } else {
    machine.kill();
  }
  result.total_time = since(t0);
  link->stop();

  GuestReport guest = link->report();
  if (finished) {
    if (guest.exit_status) {
      decide(Outcome::kExited, "");
      result.exit_status = *guest.exit_status;
    } else {
      decide(Outcome::kAgentCrash, "guest agent crashed: " + guest.crash.value_or("(no reason given)"));
    }
  }
  result.frames_by_type = guest.frames_by_type;
  result.crc_failures = guest.assembler.crc_failures;
  result.framing_errors = guest.assembler.framing_errors;
  result.entries = std::move(guest.entries);
  result.console_tail = machine.console_tail();
  result.kaslr_offset = sinks->kaslr.kaslr_offset.get();
  result.phys_base = sinks->kaslr.phys_base.get();
  if (result.outcome != Outcome::kExited && result.outcome != Outcome::kInterrupted &&
      !result.console_tail.empty())
    result.reason += "; last console lines:" + last_lines(result.console_tail, 8);
  return result;
}

}  // namespace ktstr::runner
