#include "timed_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "util/interrupt.h"

extern char** environ;

namespace ktstr::bench {

namespace {

using std::chrono::milliseconds;

constexpr milliseconds kTermGrace{5000};

std::string env_key(const std::string& kv) { return kv.substr(0, kv.find('=')); }

// Our environment with `extra` added; an extra KEY replaces ours.
std::vector<std::string> child_env(const std::vector<std::string>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    bool replaced = false;
    for (const auto& x : extra) replaced |= env_key(x) == env_key(kv);
    if (!replaced) out.push_back(std::move(kv));
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

milliseconds cpu_of(const rusage& ru) {
  auto ms = [](const timeval& tv) { return milliseconds(tv.tv_sec * 1000 + tv.tv_usec / 1000); };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

ExitStatus status_of(int wstatus) {
  ExitStatus st;
  if (WIFSIGNALED(wstatus)) {
    st.signaled = true;
    st.signal = WTERMSIG(wstatus);
  } else {
    st.code = WEXITSTATUS(wstatus);
  }
  return st;
}

}  // namespace

Result<TimedChild> TimedChild::spawn(const SpawnSpec& spec) {
  if (spec.argv.empty()) return invalid_argument("spawn: empty argv");
  // Everything the child touches is prepared before fork: after it only
  // async-signal-safe calls are allowed.
  std::vector<std::string> args = spec.argv;
  std::vector<std::string> env = child_env(spec.extra_env);
  auto argv = c_strings(args);
  auto envp = c_strings(env);
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!devnull.valid()) return io_error("opening /dev/null");
  const int out = spec.stdout_fd >= 0 ? spec.stdout_fd : devnull.get();
  const int err = spec.stderr_fd >= 0 ? spec.stderr_fd : devnull.get();
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) return io_error("fork");
  if (pid == 0) {
    ::setpgid(0, 0);  // our Ctrl-C is ours to act on; we end the child ourselves
    // SIGTERM, not SIGKILL: ktstr then removes its sockets, shm and temp files.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);  // ignored dispositions survive exec
    if (::dup2(devnull.get(), 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) ::_exit(127);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  TimedChild c;
  c.pid_ = pid;
  c.pidfd_.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!c.pidfd_.valid()) return io_error("pidfd_open for " + spec.argv[0]);
  return c;
}

TimedChild::~TimedChild() { end(); }

TimedChild::TimedChild(TimedChild&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), pidfd_(std::move(o.pidfd_)) {}

TimedChild& TimedChild::operator=(TimedChild&& o) noexcept {
  if (this != &o) {
    end();
    pid_ = std::exchange(o.pid_, -1);
    pidfd_ = std::move(o.pidfd_);
  }
  return *this;
}

std::optional<ChildEnd> TimedChild::try_reap() {
  if (pid_ <= 0) return std::nullopt;
  const auto now = Clock::now();
  int wstatus = 0;
  rusage ru{};
  pid_t r;
  do {
    r = ::wait4(pid_, &wstatus, WNOHANG, &ru);
  } while (r < 0 && errno == EINTR);
  if (r != pid_) return std::nullopt;
  pid_ = -1;
  pidfd_.reset();
  return ChildEnd{status_of(wstatus), now, cpu_of(ru)};
}

Result<ChildEnd> TimedChild::wait_until(Clock::time_point deadline) {
  if (pid_ <= 0) return invalid_argument("wait_until: no child (already reaped)");
  for (;;) {
    if (auto end = try_reap()) return *end;
    if (interrupted()) return Error(Errc::kFailed, "interrupted");
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return timeout_error("child " + std::to_string(pid_) + " still running");
    pollfd p[2] = {{pidfd_.get(), POLLIN, 0}, {interrupt_fd(), POLLIN, 0}};
    ::poll(p, interrupt_fd() >= 0 ? 2 : 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
  }
}

void TimedChild::end() {
  if (pid_ <= 0) return;
  if (try_reap()) return;
  ::kill(pid_, SIGTERM);
  pollfd p = {pidfd_.get(), POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(kTermGrace.count()));
  if (try_reap()) return;
  ::kill(pid_, SIGKILL);
  int wstatus;
  while (::waitpid(pid_, &wstatus, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  pidfd_.reset();
}

}  // namespace ktstr::bench
