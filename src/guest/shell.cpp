#include "guest/shell.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "guest/pump.h"
#include "util/scope_guard.h"

namespace ktstr::guest {

namespace {

[[noreturn]] void child_fail(int errfd, const char* what) {
  const char* err = ::strerror(errno);
  for (const char* s : {"ktstr-guest: shell: ", what, ": ", err, "\n"})
    (void)!::write(errfd, s, std::strlen(s));
  ::_exit(127);
}

// In the forked child: only async-signal-safe calls until exec.
[[noreturn]] void exec_shell(const ShellOptions& opts, char* const argv[], int errfd) {
  auto fail = [errfd](const char* what) { child_fail(errfd, what); };
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGTSTP, SIGTTIN, SIGTTOU, SIGSEGV, SIGBUS,
                  SIGABRT, SIGFPE, SIGILL})
    ::signal(sig, SIG_DFL);
  if (::setsid() < 0) fail("setsid");
  int tty = ::open(opts.tty.c_str(), O_RDWR);
  if (tty < 0) fail(opts.tty.c_str());
  if (::ioctl(tty, TIOCSCTTY, 0) != 0) fail("TIOCSCTTY");
  for (int fd = 0; fd < 3; ++fd) ::dup2(tty, fd);
  if (tty > 2) ::close(tty);
  (void)!::write(STDOUT_FILENO, kShellBanner, std::strlen(kShellBanner));
  ::execv(argv[0], argv);
  child_fail(errfd, argv[0]);
}

ExitStatus to_exit_status(int ws) {
  ExitStatus s;
  if (WIFSIGNALED(ws)) {
    s.signaled = true;
    s.signal = WTERMSIG(ws);
  } else {
    s.code = WEXITSTATUS(ws);
  }
  return s;
}

}  // namespace

Result<ExitStatus> run_interactive_shell(const ShellOptions& opts, FrameSink& sink) {
  std::vector<std::string> env = opts.env;  // putenv keeps pointers: own them here
  std::string argv0 = opts.shell;
  char* argv[] = {argv0.data(), nullptr};
  int errfd = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);  // the console, for exec failures

  pid_t pid = ::fork();
  if (pid < 0) return io_error("fork for the shell");
  if (pid == 0) {
    for (auto& e : env) ::putenv(e.data());
    exec_shell(opts, argv, errfd);
  }
  if (errfd >= 0) ::close(errfd);
  bool reaped = false;
  ScopeGuard kill_on_error([&] {
    if (reaped) return;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  });

  int kmsg = opts.kmsg_fd;
  while (true) {
    int ws = 0;
    pid_t r = ::waitpid(pid, &ws, WNOHANG);
    if (r == pid) {
      reaped = true;
      if (kmsg >= 0) KTSTR_TRY(forward_kmsg(kmsg, sink));
      return to_exit_status(ws);
    }
    reap_children_except(pid);
    pollfd p{kmsg, POLLIN, 0};
    // The tick notices the shell's exit; kernel messages wake us earlier.
    int n = ::poll(&p, kmsg >= 0 ? 1 : 0, 100);
    if (n > 0) {
      KTSTR_ASSIGN(bool usable, forward_kmsg(kmsg, sink));
      if (!usable) kmsg = -1;
    }
  }
}

}  // namespace ktstr::guest
