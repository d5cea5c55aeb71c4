// The baseline: QEMU started directly, same machine, trivial initramfs.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <set>

#include "boot_runs.h"
#include "initramfs/cpio_writer.h"
#include "timed_child.h"
#include "util/interrupt.h"

namespace ktstr::bench {

namespace {

using std::chrono::duration;

constexpr auto kRunDeadline = std::chrono::minutes(10);
constexpr size_t kMaxOutput = 1 << 20;

// Prints the marker and powers off at once: the least a guest can do.
constexpr const char* kInitScript =
    "#!/bin/busybox sh\n"
    "echo BARE-READY > /dev/console\n"
    "/bin/busybox poweroff -f\n";

double ms_between(Clock::time_point a, Clock::time_point b) {
  return duration<double, std::milli>(b - a).count();
}

std::string tail_of(const std::string& s, size_t n = 600) {
  return s.size() > n ? "..." + s.substr(s.size() - n) : s;
}

// Reads what is there; false at EOF or error.
bool read_some(int fd, std::string& out) {
  char buf[4096];
  ssize_t n = ::read(fd, buf, sizeof buf);
  if (n <= 0) return n < 0 && (errno == EINTR || errno == EAGAIN);
  if (out.size() < kMaxOutput) out.append(buf, static_cast<size_t>(n));
  return true;
}

}  // namespace

Status write_bare_initramfs(const std::filesystem::path& busybox,
                            const std::filesystem::path& out) {
  static_assert(std::string_view(kInitScript).find("BARE-READY") != std::string_view::npos);
  initramfs::CpioWriter w;
  KTSTR_TRY(w.add_file("/init", kInitScript, 0755));
  KTSTR_TRY(w.add_file_from_host("/bin/busybox", busybox, 0755), "busybox");
  KTSTR_TRY(w.add_char_device("/dev/console", 5, 1, 0600));
  return w.write_to_file(out);
}

Result<std::vector<std::string>> bare_qemu_argv(const std::vector<std::string>& ktstr_argv,
                                                const std::filesystem::path& initrd) {
  static const std::set<std::string> kKeepFlag = {"-nodefaults", "-no-user-config", "-nographic",
                                                  "-no-reboot"};
  static const std::set<std::string> kKeepValue = {"-machine", "-cpu",    "-accel", "-m",
                                                   "-smp",     "-kernel", "-append"};
  static const std::set<std::string> kDropFlag = {"-S"};
  static const std::set<std::string> kDropValue = {"-name",   "-object", "-numa", "-chardev",
                                                   "-serial", "-device", "-mon"};
  if (ktstr_argv.empty()) return invalid_argument("qemu_argv from the ktstr report is empty");
  std::vector<std::string> out = {ktstr_argv[0]};
  bool has_kernel = false, has_initrd = false;
  for (size_t i = 1; i < ktstr_argv.size(); ++i) {
    const std::string& opt = ktstr_argv[i];
    const bool takes_value = kKeepValue.count(opt) || kDropValue.count(opt) || opt == "-initrd";
    if (takes_value && i + 1 >= ktstr_argv.size())
      return invalid_argument("qemu_argv: " + opt + " has no value");
    if (kKeepFlag.count(opt)) {
      out.push_back(opt);
    } else if (kKeepValue.count(opt)) {
      has_kernel |= opt == "-kernel";
      out.insert(out.end(), {opt, ktstr_argv[++i]});
    } else if (opt == "-initrd") {
      has_initrd = true;
      out.insert(out.end(), {opt, initrd.string()});
      ++i;
    } else if (kDropValue.count(opt)) {
      ++i;
    } else if (!kDropFlag.count(opt)) {
      return invalid_argument("qemu_argv: option '" + opt +
                              "' is new to the bare baseline; decide in bare_qemu_argv "
                              "(bench/vm/bare_boot.cpp) whether it is machine (keep) or ktstr "
                              "plumbing (drop)");
    }
  }
  if (!has_kernel) return invalid_argument("qemu_argv has no -kernel");
  if (!has_initrd) out.insert(out.end(), {"-initrd", initrd.string()});
  out.insert(out.end(), {"-serial", "stdio"});
  return out;
}

Result<BootSample> run_bare_boot(const std::vector<std::string>& argv) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return io_error("pipe for QEMU's serial console");
  UniqueFd rd(p[0]), wr(p[1]);
  SpawnSpec spec;
  spec.argv = argv;
  spec.stdout_fd = spec.stderr_fd = wr.get();

  const auto t0 = Clock::now();
  KTSTR_ASSIGN(TimedChild qemu, TimedChild::spawn(spec), "starting QEMU");
  wr.reset();  // QEMU holds the only write end: EOF when it is gone
  const std::string marker = kBareMarker;
  std::string output;
  size_t scan_from = 0;
  std::optional<Clock::time_point> ready;
  std::optional<ChildEnd> end;
  const auto deadline = t0 + kRunDeadline;
  bool eof = false;

  while (!end) {
    if (interrupted()) return Error(Errc::kFailed, "interrupted");
    if (Clock::now() > deadline)
      return timeout_error("bare QEMU still running after 10 minutes: " + tail_of(output));
    pollfd pfds[3] = {
        {eof ? -1 : rd.get(), POLLIN, 0}, {qemu.pidfd(), POLLIN, 0}, {interrupt_fd(), POLLIN, 0}};
    ::poll(pfds, interrupt_fd() >= 0 ? 3 : 2, 1000);
    if (pfds[0].revents & (POLLIN | POLLHUP)) {
      eof = !read_some(rd.get(), output);
      if (!ready) {
        if (output.find(marker, scan_from) != std::string::npos) ready = Clock::now();
        scan_from = output.size() >= marker.size() ? output.size() - marker.size() + 1 : 0;
      }
    }
    if (pfds[1].revents & POLLIN) end = qemu.try_reap();
  }
  while (!eof && read_some(rd.get(), output)) {
  }  // the last console lines, for a failure message
  if (!end->status.success())
    return Error(Errc::kFailed, "bare QEMU " + end->status.describe() + ": " + tail_of(output));
  if (!ready)
    return Error(Errc::kFailed, std::string("bare guest exited without printing ") + kBareMarker +
                                    ": " + tail_of(output));
  BootSample s;
  s.ready_ms = ms_between(t0, *ready);
  s.poweroff_ms = ms_between(t0, end->when);
  s.cpu_ms = static_cast<double>(end->cpu.count());
  return s;
}

}  // namespace ktstr::bench
