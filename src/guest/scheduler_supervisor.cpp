#include "guest/scheduler_supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <thread>

#include "guest/kmsg.h"
#include "scheduler/exit_kind.h"
#include "util/fd.h"
#include "util/files.h"
#include "wire/messages.h"

namespace ktstr::guest {

namespace fs = std::filesystem;
namespace sx = ktstr::scheduler;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------
// Parsing pieces (unit-tested through sched_detail).

namespace sched_detail {

namespace {

constexpr std::string_view kSchedPrefix = "sched_ext: BPF scheduler \"";
constexpr size_t kMaxExcerptLines = 80;
constexpr int kTraceLines = 32;  // stack trace lines kept after an error exit
constexpr size_t kMaxLineLen = 512;

// After 'sched_ext: BPF scheduler "NAME"': NAME and the rest of the line.
std::optional<std::pair<std::string, std::string_view>> split_sched_line(std::string_view text) {
  auto p = text.find(kSchedPrefix);
  if (p == std::string_view::npos) return std::nullopt;
  auto rest = text.substr(p + kSchedPrefix.size());
  auto q = rest.find('"');
  if (q == std::string_view::npos) return std::nullopt;
  return std::make_pair(std::string(rest.substr(0, q)), rest.substr(q + 1));
}

}  // namespace

std::optional<DisabledLine> parse_disabled_line(std::string_view text) {
  auto s = split_sched_line(text);
  if (!s) return std::nullopt;
  constexpr std::string_view kDisabled = " disabled (";
  std::string_view rest = s->second;
  if (!rest.starts_with(kDisabled)) return std::nullopt;
  rest.remove_prefix(kDisabled.size());
  auto close = rest.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  return DisabledLine{s->first, std::string(rest.substr(0, close))};
}

std::optional<std::string> parse_enabled_line(std::string_view text) {
  auto s = split_sched_line(text);
  if (!s || !s->second.starts_with(" enabled")) return std::nullopt;
  return s->first;
}

void KernelLogScanner::feed(std::string_view text, std::string_view formatted) {
  bool keep = false;
  if (auto d = parse_disabled_line(text)) {
    if (!exit_) {
      exit_ = *d;
      want_message_ = true;
      trace_lines_left_ = kTraceLines;
    }
    keep = true;
  } else if (auto e = parse_enabled_line(text)) {
    enabled_ops_ = *e;
    keep = true;
  } else if (want_message_ && text.starts_with("sched_ext: " + exit_->ops + ": ")) {
    message_ = std::string(text.substr(std::string_view("sched_ext: ").size() + exit_->ops.size() + 2));
    want_message_ = false;
    keep = true;
  } else if (trace_lines_left_ > 0 && !text.empty() && (text[0] == ' ' || text[0] == '\t')) {
    --trace_lines_left_;
    keep = true;
  } else if (text.find("sched_ext") != std::string_view::npos ||
             text.find("Sched_ext") != std::string_view::npos) {
    keep = true;
  } else {
    trace_lines_left_ = 0;  // the trace ended
  }
  if (!keep || excerpt_lines_ >= kMaxExcerptLines) return;
  excerpt_.append(formatted);
  if (excerpt_.empty() || excerpt_.back() != '\n') excerpt_ += '\n';
  ++excerpt_lines_;
}

void LineTail::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    auto nl = bytes.find('\n');
    std::string_view part = bytes.substr(0, nl);
    if (partial_.size() < kMaxLineLen)
      partial_.append(part.substr(0, kMaxLineLen - partial_.size()));
    if (nl == std::string_view::npos) break;
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    lines_.push_back(std::move(partial_));
    partial_.clear();
    if (lines_.size() > max_) lines_.pop_front();
    bytes.remove_prefix(nl + 1);
  }
}

std::vector<std::string> LineTail::lines() const {
  std::vector<std::string> out(lines_.begin(), lines_.end());
  if (!partial_.empty()) {
    out.push_back(partial_);
    if (out.size() > max_) out.erase(out.begin());
  }
  return out;
}

std::string dump_from_trace(std::string_view trace) {
  constexpr std::string_view kEvent = "sched_ext_dump: ";
  std::string out;
  for (const auto& line : split(trace, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto p = line.find(kEvent);
    if (p == std::string::npos) continue;
    out.append(line, p + kEvent.size());
    out += '\n';
  }
  return out;
}

std::string exit_message_from_output(const std::vector<std::string>& tail,
                                     std::string_view reason) {
  const std::string prefix = "EXIT: " + std::string(reason) + " (";
  for (auto it = tail.rbegin(); it != tail.rend(); ++it) {
    std::string_view line = trim(*it);
    if (!line.starts_with(prefix)) continue;
    line.remove_prefix(prefix.size());
    // Drop " on CPU <n>", then the closing parenthesis.
    if (auto on = line.rfind(") on CPU "); on != std::string_view::npos) {
      std::string_view cpu = line.substr(on + 9);
      if (!cpu.empty() && cpu.find_first_not_of("0123456789") == std::string_view::npos)
        line = line.substr(0, on + 1);
    }
    if (!line.ends_with(')')) return "";
    return std::string(line.substr(0, line.size() - 1));
  }
  return "";
}

}  // namespace sched_detail

namespace {

constexpr size_t kMaxPendingLog = 1u << 20;  // unsent output kept while nobody flushes

void sleep_for(milliseconds d) { std::this_thread::sleep_for(d); }

uint32_t ms_since(Clock::time_point t) {
  return static_cast<uint32_t>(
      std::chrono::duration_cast<milliseconds>(Clock::now() - t).count());
}

// The scheduler process. Not util's Child: PID 1 may reap it from elsewhere,
// which must read as "exited, status unknown" rather than running forever,
// and its fds >= 3 (the wire port, ...) must not leak into it.
class Proc {
 public:
  Proc() = default;
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  ~Proc() {
    if (pid_ > 0 && !exited_) {
      signal(SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  Status spawn(const std::vector<std::string>& argv, int out_fd) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int errpipe[2];
    if (::pipe2(errpipe, O_CLOEXEC) != 0) return io_error("pipe");
    pid_t pid = ::fork();
    if (pid < 0) {
      ::close(errpipe[0]);
      ::close(errpipe[1]);
      return io_error("fork");
    }
    if (pid == 0) {
      // Only async-signal-safe calls: the parent may have threads.
      ::setpgid(0, 0);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGCHLD, SIGHUP}) ::signal(sig, SIG_DFL);
      int dn = ::open("/dev/null", O_RDONLY);
      if (dn >= 0) ::dup2(dn, 0);
      ::dup2(out_fd, 1);
      ::dup2(out_fd, 2);
      ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);  // errpipe stays open until exec
      ::execvp(args[0], args.data());
      int e = errno;
      (void)!::write(errpipe[1], &e, sizeof e);
      ::_exit(127);
    }
    ::close(errpipe[1]);
    int child_errno = 0;
    ssize_t n;
    do {
      n = ::read(errpipe[0], &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    ::close(errpipe[0]);
    if (n == sizeof child_errno) {
      ::waitpid(pid, nullptr, 0);
      errno = child_errno;
      return io_error("cannot run " + argv[0]);
    }
    pid_ = pid;
    return {};
  }

  pid_t pid() const { return pid_; }
  bool started() const { return pid_ > 0; }

  // True once the process has exited (reaped here or elsewhere).
  bool poll() {
    if (pid_ <= 0 || exited_) return exited_;
    siginfo_t si{};
    int r = ::waitid(P_PID, static_cast<id_t>(pid_), &si, WEXITED | WNOHANG);
    if (r == 0 && si.si_pid == pid_) {
      exited_ = true;
      ExitStatus s;
      if (si.si_code == CLD_EXITED) {
        s.code = si.si_status;
      } else {
        s.signaled = true;
        s.signal = si.si_status;
      }
      status_ = s;
    } else if (r < 0 && errno == ECHILD) {
      exited_ = true;  // reaped by someone else: status unknown
    }
    return exited_;
  }
  const std::optional<ExitStatus>& status() const { return status_; }
  std::string describe() const {
    if (!exited_) return "running";
    return status_ ? status_->describe() : "exited (status collected elsewhere)";
  }

  // To its process group (it is the leader), so helpers it forked go too.
  void signal(int sig) {
    if (pid_ <= 0) return;
    if (::kill(-pid_, sig) != 0 && !exited_) ::kill(pid_, sig);
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::optional<ExitStatus> status_;
};

// Reads the scheduler's output on a thread into a bounded buffer and a line
// tail. Never writes frames: the owner takes the bytes on its own thread.
class OutputReader {
 public:
  OutputReader() = default;
  OutputReader(const OutputReader&) = delete;
  OutputReader& operator=(const OutputReader&) = delete;
  ~OutputReader() { stop(milliseconds(0)); }

  Status start(UniqueFd fd) {
    int w[2];
    if (::pipe2(w, O_CLOEXEC) != 0) return io_error("pipe");
    wake_r_.reset(w[0]);
    wake_w_.reset(w[1]);
    fd_ = std::move(fd);
    thread_ = std::thread([this] { run(); });
    return {};
  }

  // Waits up to `drain` for EOF (everything read), then ends the thread.
  void stop(milliseconds drain) {
    if (!thread_.joinable()) return;
    auto deadline = Clock::now() + drain;
    while (!eof_.load() && Clock::now() < deadline) sleep_for(milliseconds(2));
    char b = 1;
    (void)!::write(wake_w_.get(), &b, 1);
    thread_.join();
  }
  bool eof() const { return eof_.load(); }

  std::string take() {
    std::lock_guard lock(mu_);
    std::string out;
    out.swap(pending_);
    if (dropped_) {
      out += "[ktstr-guest: " + std::to_string(dropped_) + " bytes of scheduler output dropped]\n";
      dropped_ = 0;
    }
    return out;
  }
  std::vector<std::string> tail() const {
    std::lock_guard lock(mu_);
    return tail_.lines();
  }

 private:
  void run() {
    char buf[16384];
    while (true) {
      pollfd p[2] = {{fd_.get(), POLLIN, 0}, {wake_r_.get(), POLLIN, 0}};
      int r = ::poll(p, 2, -1);
      if (r < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (p[1].revents) break;
      if (!p[0].revents) continue;
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;
      std::lock_guard lock(mu_);
      tail_.feed(std::string_view(buf, static_cast<size_t>(n)));
      if (pending_.size() + static_cast<size_t>(n) <= kMaxPendingLog)
        pending_.append(buf, static_cast<size_t>(n));
      else
        dropped_ += static_cast<size_t>(n);
    }
    eof_.store(true);
  }

  UniqueFd fd_, wake_r_, wake_w_;
  std::thread thread_;
  std::atomic<bool> eof_{false};
  mutable std::mutex mu_;
  std::string pending_;
  size_t dropped_ = 0;
  sched_detail::LineTail tail_{SchedulerSupervisor::kTailLines};
};

// Follows the kernel log from where it was opened. Works on /dev/kmsg (one
// record per read) and on a plain file of records (tests).
class KmsgFollower {
 public:
  void open(const fs::path& path) {
    fd_.reset(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (fd_.valid()) ::lseek(fd_.get(), 0, SEEK_END);
  }
  bool valid() const { return fd_.valid(); }

  void poll(sched_detail::KernelLogScanner& scanner) {
    if (!fd_.valid()) return;
    char buf[8192];  // > the longest /dev/kmsg record
    while (true) {
      ssize_t n = ::read(fd_.get(), buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR || errno == EPIPE) continue;  // EPIPE: records overwritten
        if (errno != EAGAIN) fd_.reset();
        break;
      }
      if (n == 0) break;
      carry_.append(buf, static_cast<size_t>(n));
      size_t start = 0, nl;
      while ((nl = carry_.find('\n', start)) != std::string::npos) {
        feed_line(std::string_view(carry_).substr(start, nl - start), scanner);
        start = nl + 1;
      }
      carry_.erase(0, start);
    }
  }

 private:
  static void feed_line(std::string_view line, sched_detail::KernelLogScanner& scanner) {
    if (line.empty() || line[0] == ' ') return;  // " KEY=value" dictionary lines
    auto semi = line.find(';');
    if (semi == std::string_view::npos) {
      scanner.feed(line, std::string(line) + "\n");
      return;
    }
    scanner.feed(line.substr(semi + 1), format_kmsg_record(line));
  }

  UniqueFd fd_;
  std::string carry_;
};

// The last `n` non-blank output lines, for one-line errors.
std::string last_output(const std::vector<std::string>& tail, size_t n) {
  std::vector<std::string> picked;
  for (auto it = tail.rbegin(); it != tail.rend() && picked.size() < n; ++it)
    if (!trim(*it).empty()) picked.insert(picked.begin(), it->substr(0, 200));
  if (picked.empty()) return "; no output";
  std::string out = "; last output: ";
  for (size_t i = 0; i < picked.size(); ++i) out += (i ? " | '" : "'") + picked[i] + "'";
  return out;
}

}  // namespace

std::string_view to_string(DeathKind kind) {
  switch (kind) {
    case DeathKind::kProcessExited: return "process exited";
    case DeathKind::kEjectedByKernel: return "ejected by kernel";
    case DeathKind::kSchedulerExited: return "scheduler exited";
  }
  return "unknown";
}

std::string DeathInfo::to_text() const {
  std::string out = "scheduler died: " + std::string(to_string(kind)) + ": " + reason + "\n";
  out += "  exit kind " + std::to_string(exit_kind) + " (" +
         std::string(sx::exit_kind_name(exit_kind)) + "), sched_ext state " +
         (state.empty() ? "unknown" : state) + ", " + std::to_string(after_attach_ms) +
         " ms after attach";
  if (process) out += ", process " + process->describe();
  out += "\n";
  if (!dmesg_excerpt.empty()) out += "kernel log (sched_ext):\n" + dmesg_excerpt;
  if (!log_tail.empty()) {
    out += "scheduler output (last " + std::to_string(log_tail.size()) + " lines):\n";
    for (const auto& l : log_tail) out += "  " + l + "\n";
  }
  return out;
}

// ---------------------------------------------------------------------------

struct SchedulerSupervisor::Impl {
  enum class Phase { kIdle, kAttached, kStopped };

  SupervisorOptions opts;
  SchedulerSpec spec;
  FrameSink* sink = nullptr;
  Phase phase = Phase::kIdle;
  Proc proc;
  OutputReader out;
  KmsgFollower kmsg;
  sched_detail::KernelLogScanner scanner;
  Clock::time_point spawned_at, attached_at;
  std::optional<DeathInfo> death;
  std::optional<StopInfo> stopped;

  std::string attr(std::string_view name) const {
    auto r = read_file_limited(opts.sched_ext / name, 4096);
    return r.ok() ? std::string(trim(*r)) : std::string();
  }
  std::string state() const { return attr("state"); }

  // Output to SCHED_LOG, kernel log into the scanner. Send failures are not
  // the scheduler's death: they only lose narration.
  Status pump() {
    kmsg.poll(scanner);
    std::string data = out.take();
    if (data.empty() || !sink) return {};
    return sink->stream(wire::MsgType::kSchedLog, data);
  }

  // Kills and reaps the process, ends the reader, flushes what it read.
  void shut_down(milliseconds grace, StopInfo* info) {
    auto t0 = Clock::now();
    if (proc.started() && !proc.poll()) {
      if (info) info->was_running = true;
      proc.signal(SIGTERM);
      while (!proc.poll() && Clock::now() - t0 < grace) sleep_for(milliseconds(5));
      if (!proc.poll()) {
        if (info) info->killed = true;
        proc.signal(SIGKILL);
        // SIGKILL ends it unless it sleeps in the kernel; the destructor
        // reaps it then.
        auto kill_deadline = Clock::now() + std::chrono::seconds(5);
        while (!proc.poll() && Clock::now() < kill_deadline) sleep_for(milliseconds(5));
      }
    }
    if (proc.started()) proc.signal(SIGKILL);  // helpers left in its group
    out.stop(milliseconds(200));
    (void)pump();
  }

  std::string watchdog_note() const {
    std::string note = "watchdog: set by the scheduler (ops.timeout_ms, 0 = 30000 ms); the "
                       "kernel has no global knob";
    if (spec.watchdog_timeout_ms)
      note += "; requested " + std::to_string(spec.watchdog_timeout_ms) +
              " ms through the scheduler's arguments";
    return note;
  }

  DeathInfo judge(bool exited, const std::string& st) {
    DeathInfo d;
    d.state = st;
    d.after_attach_ms = static_cast<uint32_t>(
        std::chrono::duration_cast<milliseconds>(Clock::now() - attached_at).count());
    d.process = proc.status();
    d.dmesg_excerpt = scanner.excerpt();
    d.log_tail = out.tail();
    std::optional<int32_t> kernel_kind;
    if (scanner.exit()) kernel_kind = sx::exit_kind_from_reason(scanner.exit()->reason);
    if (scanner.exit()) {
      std::string why = scanner.exit()->reason;
      std::string msg = scanner.message();
      if (msg.empty()) msg = sched_detail::exit_message_from_output(d.log_tail, why);
      if (!msg.empty()) why += " (" + msg + ")";
      d.exit_kind = kernel_kind.value_or(exited ? sx::kExitProcessDied : sx::kExitStateLost);
      if (kernel_kind && sx::is_ejection(*kernel_kind)) {
        d.kind = DeathKind::kEjectedByKernel;
        d.reason = why;
      } else if (kernel_kind == sx::kExitUnregBpf) {
        d.kind = DeathKind::kSchedulerExited;
        d.reason = why;
      } else if (exited) {
        d.kind = DeathKind::kProcessExited;
        d.reason = proc.describe() + " (kernel: " + why + ")";
      } else {
        d.kind = DeathKind::kProcessExited;  // it closed its link but lives on
        d.reason = why;
      }
    } else if (exited) {
      d.kind = DeathKind::kProcessExited;
      d.exit_kind = sx::kExitProcessDied;
      d.reason = proc.describe() + "; sched_ext state " + (st.empty() ? "unreadable" : st);
    } else {
      d.kind = DeathKind::kEjectedByKernel;
      d.exit_kind = sx::kExitStateLost;
      d.reason = "sched_ext state became " + (st.empty() ? "unreadable" : st) +
                 " with no kernel message" + (kmsg.valid() ? "" : " (kernel log unreadable)");
    }
    return d;
  }
};

SchedulerSupervisor::SchedulerSupervisor(SupervisorOptions opts) : impl_(std::make_unique<Impl>()) {
  impl_->opts = std::move(opts);
}

SchedulerSupervisor::~SchedulerSupervisor() {
  if (impl_->phase == Impl::Phase::kAttached) stop(std::chrono::seconds(2));
}

pid_t SchedulerSupervisor::pid() const { return impl_->proc.pid(); }

std::vector<std::string> SchedulerSupervisor::log_tail() const { return impl_->out.tail(); }

Status SchedulerSupervisor::flush_log() { return impl_->pump(); }

Result<AttachInfo> SchedulerSupervisor::start(const SchedulerSpec& spec, FrameSink& sink) {
  Impl& I = *impl_;
  if (I.phase != Impl::Phase::kIdle)
    return invalid_argument("scheduler supervisor already used; make one per scheduler run");
  if (spec.binary.empty()) return invalid_argument("scheduler spec: binary is empty");
  I.spec = spec;
  I.sink = &sink;
  std::error_code ec;
  if (!fs::exists(I.opts.sched_ext / "state", ec))
    return unavailable((I.opts.sched_ext / "state").string() +
                       " does not exist: this kernel has no sched_ext; boot one built with "
                       "CONFIG_SCHED_CLASS_EXT=y");
  if (std::string st = I.state(); st != "disabled")
    return unavailable("a sched_ext scheduler is already loaded (state '" + st + "', ops '" +
                       I.attr("root/ops") + "'); only one can run: stop it first");

  I.kmsg.open(I.opts.kmsg);  // before the spawn: its messages are ours
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return io_error("scheduler output pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<std::string> argv{spec.binary};
  argv.insert(argv.end(), spec.args.begin(), spec.args.end());
  KTSTR_TRY(I.proc.spawn(argv, wr.get()), "starting the scheduler");
  wr.reset();  // only the scheduler writes now: EOF when it is gone
  I.spawned_at = Clock::now();
  I.phase = Impl::Phase::kStopped;  // until attached: check() stays quiet
  if (auto s = I.out.start(std::move(rd)); !s.ok()) {
    I.shut_down(milliseconds(0), nullptr);
    return std::move(s).error().context("reading scheduler output");
  }

  const auto deadline = I.spawned_at + milliseconds(spec.attach_timeout_ms);
  std::string why;
  Errc code = Errc::kFailed;
  while (true) {
    (void)I.pump();
    if (I.proc.poll()) {
      why = "process " + I.proc.describe();
      break;
    }
    std::string st = I.state();
    std::string ops = st == "enabled" ? I.attr("root/ops") : "";
    if (st == "enabled" && (spec.ops_name.empty() || ops == spec.ops_name)) {
      I.attached_at = Clock::now();
      I.phase = Impl::Phase::kAttached;
      AttachInfo info;
      info.pid = I.proc.pid();
      info.attach_ms = ms_since(I.spawned_at);
      info.ops = ops;
      info.switch_all = I.attr("switch_all") != "0";
      info.watchdog = I.watchdog_note();
      return info;
    }
    if (Clock::now() >= deadline) {
      code = Errc::kTimeout;
      const std::string after = " after " + std::to_string(spec.attach_timeout_ms) + " ms";
      if (st == "enabled")
        why = "root/ops reads '" + ops + "', expected '" + spec.ops_name + "'" + after +
              " (fix ops_name in the scheduler definition)";
      else
        why = "state stayed '" + (st.empty() ? std::string("unreadable") : st) + "'" + after;
      break;
    }
    sleep_for(I.opts.poll_interval);
  }
  I.shut_down(milliseconds(1000), nullptr);
  if (I.scanner.exit()) {
    why += "; kernel: disabled (" + I.scanner.exit()->reason + ")";
    if (!I.scanner.message().empty()) why += ": " + I.scanner.message();
  }
  return Error(code, "scheduler did not attach: " + why + last_output(I.out.tail(), 3));
}

std::optional<DeathInfo> SchedulerSupervisor::check() {
  Impl& I = *impl_;
  if (I.phase != Impl::Phase::kAttached || I.death) return I.death;
  (void)I.pump();
  bool exited = I.proc.poll();
  std::string st = I.state();
  if (!exited && st == "enabled" && !I.scanner.exited()) return std::nullopt;

  // It died. The kernel logs its reason before the state reads "disabled";
  // give it (and the process, whose last words name the reason too) a moment.
  const auto deadline = Clock::now() + I.opts.settle;
  while (Clock::now() < deadline) {
    st = I.state();
    (void)I.pump();  // kernel log read after the state
    exited = I.proc.poll();
    bool have_reason = I.scanner.exited() || st == "disabled";
    if (have_reason && exited) break;
    sleep_for(std::min(I.opts.poll_interval, milliseconds(10)));
  }
  if (exited) {  // its last output is in the pipe; let the reader catch up
    auto drain = Clock::now() + milliseconds(200);
    while (!I.out.eof() && Clock::now() < drain) sleep_for(milliseconds(2));
  }
  (void)I.pump();
  I.death = I.judge(exited, st);
  wire::SchedExit m{I.death->exit_kind,
                    std::string(to_string(I.death->kind)) + ": " + I.death->reason};
  (void)I.sink->send(wire::MsgType::kSchedExit, wire::encode(m));
  return I.death;
}

StopInfo SchedulerSupervisor::stop(milliseconds timeout) {
  Impl& I = *impl_;
  if (I.stopped) return *I.stopped;
  StopInfo info;
  if (I.phase == Impl::Phase::kIdle) {
    info.state = I.state();
    info.disabled = info.state == "disabled";
    return info;
  }
  const auto t0 = Clock::now();
  I.shut_down(timeout / 2, &info);
  info.process = I.proc.status();
  while (true) {
    info.state = I.state();
    if (info.state == "disabled" || Clock::now() - t0 >= timeout) break;
    sleep_for(I.opts.poll_interval);
  }
  info.disabled = info.state == "disabled";
  (void)I.pump();
  info.stop_ms = ms_since(t0);
  I.phase = Impl::Phase::kStopped;
  I.stopped = info;
  return info;
}

std::string SchedulerSupervisor::debug_dump() {
  Impl& I = *impl_;
  std::string out = "== sched_ext (" + I.opts.sched_ext.string() + ")\n";
  for (const char* name : {"state", "switch_all", "nr_rejected", "hotplug_seq", "enable_seq",
                           "root/ops"}) {
    auto v = read_file_limited(I.opts.sched_ext / name, 4096);
    out += std::string(name) + ": " + (v.ok() ? std::string(trim(*v)) : "(unreadable)") + "\n";
  }
  if (auto ev = read_file_limited(I.opts.sched_ext / "root/events", 65536); ev.ok()) {
    out += "root/events:\n";
    for (const auto& l : split(trim(*ev), '\n')) out += "  " + l + "\n";
  }
  std::string st = I.state();
  if (st.empty() || st == "disabled") return out;

  out += "== sysrq-D dump (tracepoint sched_ext:sched_ext_dump)\n";
  const fs::path enable = I.opts.tracing / "events/sched_ext/sched_ext_dump/enable";
  std::error_code ec;
  if (!fs::exists(enable, ec) && I.opts.mount_tracefs) {
    fs::create_directories(I.opts.tracing, ec);
    ::mount("tracefs", I.opts.tracing.c_str(), "tracefs", 0, nullptr);
  }
  if (!fs::exists(enable, ec))
    return out + "(unavailable: no " + enable.string() + "; mount tracefs at " +
           I.opts.tracing.string() + ")\n";
  const fs::path trace = I.opts.tracing / "trace";
  if (!write_file(enable, "1").ok()) return out + "(cannot enable the tracepoint)\n";
  (void)write_file(trace, "");  // clears the ring buffer
  auto trig = write_file(I.opts.sysrq_trigger, "D");
  auto text = read_file_limited(trace, 4u << 20);
  (void)write_file(enable, "0");
  if (!trig.ok()) return out + "(" + trig.error().message() + ")\n";
  std::string dump = text.ok() ? sched_detail::dump_from_trace(*text) : "";
  return out + (dump.empty() ? "(the dump was empty)\n" : dump);
}

}  // namespace ktstr::guest
