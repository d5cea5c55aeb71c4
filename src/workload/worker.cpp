#include "workload/worker.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <thread>

#include "util/fd.h"
#include "util/files.h"
#include "util/scope_guard.h"
#include "workload/detail/child.h"
#include "workload/detail/meter.h"
#include "workload/detail/sys.h"
#include "workload/detail/work.h"

namespace ktstr::workload {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr size_t kMaxReportBytes = 64u << 20;
constexpr uint32_t kMaxWorkers = 4096;
// After SIGKILL, how long to wait for pipes to close and pids to be reapable.
constexpr milliseconds kKillWait{2000};

bool needs_shared_page(WorkType t) {
  return t == WorkType::kFutexPingPong || t == WorkType::kFutexFanOut ||
         t == WorkType::kFanOutCompute || t == WorkType::kMutexContention;
}

bool uses_pipes(WorkType t) { return t == WorkType::kPipeIo || t == WorkType::kCachePipe; }

std::string describe_exit(int ws) {
  if (WIFSIGNALED(ws)) {
    const int sig = WTERMSIG(ws);
    const char* abbrev = ::sigabbrev_np(sig);
    return "killed by signal " + std::to_string(sig) +
           (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
  }
  return "exited with code " + std::to_string(WEXITSTATUS(ws));
}

struct Worker {
  pid_t pid = -1;
  WorkerSlot slot;
  UniqueFd report;  // read end, non-blocking
  std::string buf;  // bytes after the ready line: the JSON report
  std::string setup_error;
  bool ready = false;
  bool eof = false;
  bool too_big = false;
  bool frozen = false;
  bool killed = false;  // by stop(), after the grace period
  bool reaped = false;
  bool status_known = false;
  int wstatus = 0;
};

Result<std::pair<UniqueFd, UniqueFd>> make_pipe(int flags) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC | flags) != 0) return io_error("pipe2");
  return std::pair{UniqueFd(p[0]), UniqueFd(p[1])};
}

Status set_nonblocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) return io_error("fcntl O_NONBLOCK");
  return {};
}

}  // namespace

struct WorkerSet::Impl {
  WorkerOptions opts;
  WorkerPlan plan;
  std::vector<Worker> workers;
  detail::Mapping progress_page;
  std::vector<detail::Mapping> group_pages;
  UniqueFd start_r;  // kept open so releasing never hits EPIPE (SIGPIPE)
  UniqueFd start_w;
  bool started = false;
  bool signalled = false;  // stop signals sent
  bool stopped = false;
  std::vector<WorkerReport> reports;

  ~Impl() { kill_all(); }

  detail::ProgressSlot* progress_slot(size_t i) {
    return reinterpret_cast<detail::ProgressSlot*>(progress_page.data()) + i;
  }

  std::string who(size_t i) const {
    return "worker " + std::to_string(opts.first_index + i) + " (pid " +
           std::to_string(workers[i].pid) + ", " + std::string(to_string(opts.spec.type)) + ")";
  }

  Status fork_all();
  Status wait_ready();
  void pump(Clock::time_point deadline, const std::function<bool(const Worker&)>& want);
  void on_data(Worker& w);
  bool reap(Worker& w, Clock::time_point deadline);
  void kill_all();
  WorkerReport build_report(size_t i, milliseconds grace);
};

Status WorkerSet::Impl::fork_all() {
  const uint32_t n = plan.count();
  KTSTR_ASSIGN(progress_page, detail::Mapping::anonymous(n * sizeof(detail::ProgressSlot), true),
               "progress page");
  for (uint32_t i = 0; i < n; ++i) new (progress_slot(i)) detail::ProgressSlot();

  KTSTR_ASSIGN(auto start, make_pipe(0), "start pipe");
  KTSTR_TRY(set_nonblocking(start.first.get()));
  start_r = std::move(start.first);
  start_w = std::move(start.second);

  // Workers start with the stop signals blocked, so a stop that arrives
  // before their handlers are installed is held, not fatal.
  sigset_t stop_sigs, old;
  sigemptyset(&stop_sigs);
  for (int s : {SIGUSR1, SIGTERM, SIGINT}) sigaddset(&stop_sigs, s);
  pthread_sigmask(SIG_BLOCK, &stop_sigs, &old);
  ScopeGuard restore([&] { pthread_sigmask(SIG_SETMASK, &old, nullptr); });

  const pid_t parent = ::getpid();
  size_t i = 0;
  for (uint32_t g = 0; g < plan.group_sizes.size(); ++g) {
    detail::GroupShared* shared = nullptr;
    if (needs_shared_page(opts.spec.type)) {
      KTSTR_ASSIGN(auto page, detail::Mapping::anonymous(sizeof(detail::GroupShared), true),
                   "group page");
      shared = reinterpret_cast<detail::GroupShared*>(page.data());
      KTSTR_TRY(detail::init_group_shared(shared));
      group_pages.push_back(std::move(page));
    }
    std::pair<UniqueFd, UniqueFd> ping_to_pong, pong_to_ping;
    if (uses_pipes(opts.spec.type)) {
      KTSTR_ASSIGN(ping_to_pong, make_pipe(O_NONBLOCK), "pair pipe");
      KTSTR_ASSIGN(pong_to_ping, make_pipe(O_NONBLOCK), "pair pipe");
    }
    for (uint32_t r = 0; r < plan.group_sizes[g]; ++r, ++i) {
      KTSTR_ASSIGN(auto report, make_pipe(0), "report pipe");
      detail::ChildConfig cfg;
      cfg.spec = opts.spec;
      cfg.mempolicy = opts.mempolicy;
      cfg.io_dir = opts.io_dir;
      cfg.cgroup = opts.cgroup;
      cfg.index = opts.first_index + static_cast<uint32_t>(i);
      cfg.slot = plan.slots[i];
      cfg.group_members = plan.group_sizes[g];
      cfg.shared = shared;
      cfg.progress = progress_slot(i);
      cfg.start_fd = start_r.get();
      cfg.report_fd = report.second.get();
      if (uses_pipes(opts.spec.type)) {
        cfg.pipe_in = (r == 0 ? pong_to_ping : ping_to_pong).first.get();
        cfg.pipe_out = (r == 0 ? ping_to_pong : pong_to_ping).second.get();
      }
      cfg.die_with_parent = opts.die_with_parent;
      cfg.parent = parent;

      const pid_t pid = ::fork();
      if (pid < 0) return io_error("fork for worker " + std::to_string(cfg.index));
      if (pid == 0) detail::run_child(cfg);
      Worker w;
      w.pid = pid;
      w.slot = plan.slots[i];
      w.report = std::move(report.first);
      workers.push_back(std::move(w));
      KTSTR_TRY(set_nonblocking(workers.back().report.get()));
    }
  }
  return {};
}

void WorkerSet::Impl::on_data(Worker& w) {
  if (w.ready || !w.setup_error.empty()) return;
  auto nl = w.buf.find('\n');
  if (nl == std::string::npos) return;
  std::string line = w.buf.substr(0, nl);
  w.buf.erase(0, nl + 1);
  if (line == detail::kReadyLine)
    w.ready = true;
  else
    w.setup_error = line.rfind("E ", 0) == 0 ? line.substr(2) : "bad handshake \"" + line + "\"";
}

void WorkerSet::Impl::pump(Clock::time_point deadline,
                           const std::function<bool(const Worker&)>& want) {
  while (true) {
    std::vector<pollfd> pfds;
    std::vector<Worker*> owners;
    for (Worker& w : workers) {
      if (w.eof || !want(w)) continue;
      pfds.push_back({w.report.get(), POLLIN, 0});
      owners.push_back(&w);
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (pfds.empty() || left.count() <= 0) return;
    int rc = ::poll(pfds.data(), pfds.size(), static_cast<int>(std::min<long>(left.count(), 100)));
    if (rc < 0 && errno != EINTR) return;
    for (size_t k = 0; k < pfds.size(); ++k) {
      if (!(pfds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      Worker& w = *owners[k];
      char buf[65536];
      ssize_t n = ::read(w.report.get(), buf, sizeof buf);
      if (n == 0) {
        w.eof = true;
      } else if (n > 0) {
        if (w.buf.size() + static_cast<size_t>(n) > kMaxReportBytes) {
          w.too_big = true;
          w.eof = true;  // stop reading; stop() kills it
        } else {
          w.buf.append(buf, static_cast<size_t>(n));
        }
      } else if (errno != EAGAIN && errno != EINTR) {
        w.eof = true;
      }
      on_data(w);
    }
  }
}

Status WorkerSet::Impl::wait_ready() {
  const auto deadline = Clock::now() + opts.ready_timeout;
  pump(deadline, [](const Worker& w) { return !w.ready && w.setup_error.empty(); });
  for (size_t i = 0; i < workers.size(); ++i) {
    Worker& w = workers[i];
    if (!w.setup_error.empty()) return invalid_argument(who(i) + ": " + w.setup_error);
    if (w.ready) continue;
    if (w.eof && reap(w, Clock::now() + kKillWait))
      return Error(Errc::kFailed, who(i) + " " + describe_exit(w.wstatus) + " during setup");
    return timeout_error(who(i) + " not ready within " +
                         std::to_string(opts.ready_timeout.count()) + " ms");
  }
  return {};
}

bool WorkerSet::Impl::reap(Worker& w, Clock::time_point deadline) {
  while (!w.reaped) {
    int ws = 0;
    pid_t r = ::waitpid(w.pid, &ws, WNOHANG);
    if (r == w.pid) {
      w.reaped = w.status_known = true;
      w.wstatus = ws;
    } else if (r < 0 && errno == ECHILD) {
      w.reaped = true;  // reaped by someone else; status unknown
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else if (Clock::now() >= deadline) {
      return false;
    } else {
      std::this_thread::sleep_for(milliseconds(1));
    }
  }
  return true;
}

void WorkerSet::Impl::kill_all() {
  for (Worker& w : workers)
    if (w.pid > 0 && !w.reaped) ::kill(w.pid, SIGKILL);
  for (Worker& w : workers) {
    if (w.pid <= 0 || w.reaped) continue;
    int ws = 0;
    pid_t r;
    while ((r = ::waitpid(w.pid, &ws, 0)) < 0 && errno == EINTR) {
    }
    w.reaped = true;
    w.status_known = r == w.pid;
    w.wstatus = ws;
  }
}

WorkerReport WorkerSet::Impl::build_report(size_t i, milliseconds grace) {
  Worker& w = workers[i];
  WorkerReport r;
  bool have = false;
  if (w.too_big) {
    r.error = "report larger than " + std::to_string(kMaxReportBytes >> 20) + " MiB";
  } else if (!w.buf.empty()) {
    auto parsed = parse_report(w.buf);
    if (parsed.ok()) {
      r = std::move(*parsed);
      have = true;
    } else {
      r.error = parsed.error().message();
    }
  }
  const bool clean_exit = w.status_known && WIFEXITED(w.wstatus) && WEXITSTATUS(w.wstatus) == 0;
  if (!have && r.error.empty()) {
    if (w.killed)
      r.error = "did not stop within " + std::to_string(grace.count()) + " ms; killed";
    else if (w.status_known)
      r.error = describe_exit(w.wstatus) + " without a report";
    else
      r.error = "exited without a report";
  } else if (have && w.status_known && !clean_exit) {
    r.notes.push_back("worker " + describe_exit(w.wstatus) + " after reporting");
  }
  r.cgroup = opts.cgroup;
  r.index = opts.first_index + static_cast<uint32_t>(i);
  r.pid = static_cast<int32_t>(w.pid);
  r.work_type = std::string(to_string(opts.spec.type));
  r.group = w.slot.group;
  r.role = std::string(to_string(w.slot.role));
  return r;
}

Result<WorkerSet> WorkerSet::spawn(const WorkerOptions& o) {
  KTSTR_TRY(validate(o.spec), "worker spec");
  if (o.count == 0 || o.count > kMaxWorkers)
    return invalid_argument("count: " + std::to_string(o.count) + " is out of range; use 1.." +
                            std::to_string(kMaxWorkers));
  KTSTR_TRY(validate(o.policy), "policy");
  KTSTR_TRY(validate(o.mempolicy), "mempolicy");
  if (o.nice < -20 || o.nice > 19)
    return invalid_argument("nice: " + std::to_string(o.nice) + " is out of range; use -20..19");
  for (size_t k = 0; k < o.affinity.size(); ++k) {
    if (o.affinity[k].empty())
      return invalid_argument("affinity[" + std::to_string(k) + "]: empty CPU list");
    for (uint32_t c : o.affinity[k])
      if (c >= 4096)
        return invalid_argument("affinity[" + std::to_string(k) + "]: CPU " + std::to_string(c) +
                                " is >= 4096");
  }

  auto impl = std::make_unique<Impl>();
  impl->opts = o;
  impl->plan = plan_workers(o.spec, o.count);
  if (impl->plan.count() > kMaxWorkers)
    return invalid_argument("count: groups of " + std::to_string(o.spec.group_size()) +
                            " make more than " + std::to_string(kMaxWorkers) + " workers");
  KTSTR_TRY(impl->fork_all(), "spawning " + std::string(to_string(o.spec.type)) + " workers");
  KTSTR_TRY(impl->wait_ready(), "spawning " + std::string(to_string(o.spec.type)) + " workers");
  if (o.place) {
    for (size_t i = 0; i < impl->workers.size(); ++i)
      KTSTR_TRY(o.place(impl->workers[i].pid), "placing " + impl->who(i));
  }
  return WorkerSet(std::move(impl));
}

WorkerSet::WorkerSet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
WorkerSet::WorkerSet(WorkerSet&&) noexcept = default;
WorkerSet& WorkerSet::operator=(WorkerSet&&) noexcept = default;
WorkerSet::~WorkerSet() = default;

size_t WorkerSet::size() const { return impl_ ? impl_->workers.size() : 0; }

std::vector<pid_t> WorkerSet::pids() const {
  std::vector<pid_t> out;
  if (impl_)
    for (const Worker& w : impl_->workers) out.push_back(w.pid);
  return out;
}

const WorkerPlan& WorkerSet::plan() const { return impl_->plan; }
const std::vector<std::string>& WorkerSet::notes() const { return impl_->plan.notes; }

std::vector<WorkerProgress> WorkerSet::progress() const {
  std::vector<WorkerProgress> out;
  if (!impl_) return out;
  for (size_t i = 0; i < impl_->workers.size(); ++i) {
    const detail::ProgressSlot* s = impl_->progress_slot(i);
    out.push_back({s->iterations.load(std::memory_order_relaxed),
                   s->work_units.load(std::memory_order_relaxed)});
  }
  return out;
}

Status WorkerSet::start() {
  if (!impl_) return invalid_argument("start: moved-from WorkerSet");
  if (impl_->stopped) return invalid_argument("start: workers were already stopped");
  if (impl_->started) return invalid_argument("start: already started");
  const WorkerOptions& o = impl_->opts;
  for (size_t i = 0; i < impl_->workers.size(); ++i) {
    const pid_t pid = impl_->workers[i].pid;
    if (!o.affinity.empty())
      KTSTR_TRY(apply_affinity(pid, o.affinity[i % o.affinity.size()]), impl_->who(i));
    KTSTR_TRY(apply_policy(pid, o.policy), impl_->who(i));
    KTSTR_TRY(apply_nice(pid, o.nice), impl_->who(i));
  }
  // One byte per worker, in one write: all are released together.
  KTSTR_TRY(write_all(impl_->start_w.get(), std::string(impl_->workers.size(), 'g')),
            "releasing workers");
  impl_->started = true;
  return {};
}

bool WorkerSet::started() const { return impl_ && impl_->started; }

void WorkerSet::signal_stop() {
  if (!impl_ || impl_->stopped || impl_->signalled) return;
  Impl& m = *impl_;
  m.signalled = true;
  // Knob-churning workers may sit at SCHED_IDLE or nice 19 right now: put
  // them back to the configured knobs so they get CPU to see the stop.
  const bool churns =
      m.opts.spec.type == WorkType::kPolicyChurn || m.opts.spec.type == WorkType::kNiceSweep;
  for (Worker& w : m.workers) {
    if (w.reaped) continue;
    ::kill(w.pid, SIGUSR1);
    if (w.frozen) {
      ::kill(w.pid, SIGCONT);
      w.frozen = false;
    }
    if (churns && m.started) {
      (void)apply_policy(w.pid, m.opts.policy);
      (void)apply_nice(w.pid, m.opts.nice);
    }
  }
}

Status WorkerSet::stop(milliseconds grace) {
  if (!impl_) return invalid_argument("stop: moved-from WorkerSet");
  Impl& m = *impl_;
  if (m.stopped) return {};
  signal_stop();
  auto all = [](const Worker&) { return true; };
  m.pump(Clock::now() + grace, all);
  for (Worker& w : m.workers) {
    if (w.eof || w.reaped) continue;
    ::kill(w.pid, SIGKILL);
    w.killed = true;
  }
  m.pump(Clock::now() + kKillWait, all);
  for (Worker& w : m.workers) {
    if (w.too_big && !w.reaped) ::kill(w.pid, SIGKILL);
    if (!m.reap(w, Clock::now() + kKillWait)) {
      ::kill(w.pid, SIGKILL);
      w.killed = true;
      m.reap(w, Clock::now() + kKillWait);
    }
  }
  m.reports.clear();
  for (size_t i = 0; i < m.workers.size(); ++i) m.reports.push_back(m.build_report(i, grace));
  m.stopped = true;
  return {};
}

const std::vector<WorkerReport>& WorkerSet::reports() const {
  static const std::vector<WorkerReport> kNone;
  return impl_ ? impl_->reports : kNone;
}

Status WorkerSet::freeze_worker(size_t i) {
  if (!impl_ || i >= impl_->workers.size())
    return invalid_argument("freeze_worker: no worker " + std::to_string(i));
  Worker& w = impl_->workers[i];
  if (w.reaped) return invalid_argument("freeze_worker: " + impl_->who(i) + " already exited");
  if (::kill(w.pid, SIGSTOP) != 0) return io_error("SIGSTOP " + impl_->who(i));
  w.frozen = true;
  return {};
}

Status WorkerSet::thaw_worker(size_t i) {
  if (!impl_ || i >= impl_->workers.size())
    return invalid_argument("thaw_worker: no worker " + std::to_string(i));
  Worker& w = impl_->workers[i];
  if (w.reaped) return invalid_argument("thaw_worker: " + impl_->who(i) + " already exited");
  if (::kill(w.pid, SIGCONT) != 0) return io_error("SIGCONT " + impl_->who(i));
  w.frozen = false;
  return {};
}

}  // namespace ktstr::workload
