#include "util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <thread>

#include "util/files.h"

namespace ktstr {

namespace {

ExitStatus decode(int wstatus) {
  ExitStatus s;
  if (WIFSIGNALED(wstatus)) {
    s.signaled = true;
    s.signal = WTERMSIG(wstatus);
  } else {
    s.code = WEXITSTATUS(wstatus);
  }
  return s;
}

}  // namespace

std::string ExitStatus::describe() const {
  if (signaled) return std::string("killed by signal ") + ::strsignal(signal);
  return "exit code " + std::to_string(code);
}

Result<Child> Child::spawn(const std::vector<std::string>& argv, const SpawnOptions& opts) {
  if (argv.empty()) return invalid_argument("spawn: empty command");
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store = opts.extra_env;

  // Error pipe: the child writes errno if exec fails, so spawn can report it.
  int errpipe[2];
  if (::pipe2(errpipe, O_CLOEXEC) != 0) return io_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(errpipe[0]);
    ::close(errpipe[1]);
    return io_error("fork");
  }
  if (pid == 0) {
    ::close(errpipe[0]);
    if (opts.new_process_group) ::setpgid(0, 0);
    // Undo any signal mask / handlers the parent set for its own waits.
    sigset_t all;
    sigemptyset(&all);
    ::sigprocmask(SIG_SETMASK, &all, nullptr);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    if (opts.devnull_stdin) {
      int dn = ::open("/dev/null", O_RDONLY);
      if (dn >= 0) ::dup2(dn, 0);
    }
    if (opts.stdin_fd >= 0) ::dup2(opts.stdin_fd, 0);
    if (opts.stdout_fd >= 0) ::dup2(opts.stdout_fd, 1);
    if (opts.stderr_fd >= 0) ::dup2(opts.stderr_fd, 2);
    for (auto& e : env_store) ::putenv(e.data());
    if (!opts.cwd.empty() && ::chdir(opts.cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(errpipe[1], &e, sizeof e);
      ::_exit(127);
    }
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
    int ws;
    ::waitpid(pid, &ws, 0);
    errno = child_errno;
    return io_error("cannot run " + argv[0]);
  }
  return Child(pid);
}

Child::~Child() {
  if (running()) terminate(std::chrono::milliseconds(0));
}

Child::Child(Child&& o) noexcept : pid_(std::exchange(o.pid_, -1)), status_(o.status_) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    if (running()) terminate(std::chrono::milliseconds(0));
    pid_ = std::exchange(o.pid_, -1);
    status_ = o.status_;
  }
  return *this;
}

std::optional<ExitStatus> Child::poll() {
  if (status_ || pid_ <= 0) return status_;
  int ws;
  pid_t r = ::waitpid(pid_, &ws, WNOHANG);
  if (r == pid_) status_ = decode(ws);
  return status_;
}

Result<ExitStatus> Child::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto step = std::chrono::milliseconds(1);
  while (true) {
    if (auto s = poll()) return *s;
    if (std::chrono::steady_clock::now() >= deadline)
      return timeout_error("process " + std::to_string(pid_) + " still running");
    std::this_thread::sleep_for(step);
    step = std::min(step * 2, std::chrono::milliseconds(50));
  }
}

ExitStatus Child::wait() {
  if (status_ || pid_ <= 0) return status_.value_or(ExitStatus{});
  int ws;
  while (::waitpid(pid_, &ws, 0) < 0 && errno == EINTR) {
  }
  status_ = decode(ws);
  return *status_;
}

void Child::signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

ExitStatus Child::terminate(std::chrono::milliseconds grace) {
  if (!running()) return status_.value_or(ExitStatus{});
  if (grace.count() > 0) {
    ::kill(pid_, SIGTERM);
    auto r = wait_for(grace);
    if (r.ok()) return *r;
  }
  ::kill(pid_, SIGKILL);
  return wait();
}

Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout, const SpawnOptions& base) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return io_error("pipe");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return io_error("pipe");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  SpawnOptions opts = base;
  opts.stdout_fd = out_w.get();
  opts.stderr_fd = err_w.get();
  if (opts.stdin_fd < 0) opts.devnull_stdin = true;
  KTSTR_ASSIGN(Child child, Child::spawn(argv, opts));
  out_w.reset();
  err_w.reset();

  CommandOutput result;
  constexpr size_t kCap = 64u << 20;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true;
  while (out_open || err_open) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      child.terminate(std::chrono::milliseconds(500));
      return timeout_error(join_command(argv) + " did not finish within " +
                           std::to_string(timeout.count()) + " ms");
    }
    pollfd pfds[2] = {{out_open ? out_r.get() : -1, POLLIN, 0},
                      {err_open ? err_r.get() : -1, POLLIN, 0}};
    int pr = ::poll(pfds, 2, static_cast<int>(std::min<long>(left.count(), 1000)));
    if (pr < 0 && errno != EINTR) return io_error("poll");
    char buf[65536];
    for (int i = 0; i < 2; ++i) {
      if (pfds[i].fd < 0 || !(pfds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(pfds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        (i == 0 ? out_open : err_open) = false;
        continue;
      }
      std::string& dst = i == 0 ? result.out : result.err;
      if (dst.size() < kCap) dst.append(buf, static_cast<size_t>(n));
    }
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  auto st = child.wait_for(std::max(left, std::chrono::milliseconds(1)));
  if (!st.ok()) {
    child.terminate(std::chrono::milliseconds(500));
    return timeout_error(join_command(argv) + " did not exit within " +
                         std::to_string(timeout.count()) + " ms");
  }
  result.status = *st;
  return result;
}

Result<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (::access(name.c_str(), X_OK) == 0) return name;
    return not_found(name + " is not an executable file");
  }
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/local/bin:/usr/bin:/bin";
  p += ":/usr/sbin:/sbin";
  for (auto& dir : split(p, ':')) {
    if (dir.empty()) continue;
    std::string cand = dir + "/" + name;
    struct stat st;
    if (::stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(cand.c_str(), X_OK) == 0)
      return cand;
  }
  return not_found(name + " not found on PATH");
}

std::string join_command(const std::vector<std::string>& argv) {
  std::string out;
  for (auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`*?;&|<>()") == std::string::npos;
    if (plain) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) {
        if (c == '\'') out += "'\\''";
        else out += c;
      }
      out += '\'';
    }
  }
  return out;
}

}  // namespace ktstr
