#include "guest/pump.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "guest/kmsg.h"
#include "util/fd.h"

namespace ktstr::guest {

namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return io_error("pipe2");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Reads what is available from `fd` and forwards it; closes `fd` on EOF.
Status pump_once(UniqueFd& fd, wire::MsgType type, FrameSink& sink) {
  uint8_t buf[FrameSink::kMaxChunk];
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN) return {};
    auto err = io_error("reading command output");
    fd.reset();
    return err;
  }
  if (n == 0) {
    fd.reset();
    return {};
  }
  return sink.stream(type, std::span<const uint8_t>(buf, static_cast<size_t>(n)));
}

}  // namespace

int exit_code_of(const ExitStatus& status) {
  return status.signaled ? 128 + status.signal : status.code;
}

int reap_children_except(pid_t keep) {
  int reaped = 0;
  while (true) {
    siginfo_t si{};
    // WNOWAIT peeks, so `keep` is left for its owner's waitpid(); when it is
    // the one found, the owner reaps it first and the rest wait a round.
    if (::waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0) break;
    if (si.si_pid == keep) break;
    if (::waitpid(si.si_pid, nullptr, WNOHANG) == si.si_pid) ++reaped;
  }
  return reaped;
}

Result<bool> forward_kmsg(int kmsg_fd, FrameSink& sink) {
  bool usable = true;
  std::string batch;
  char rec[8192];  // a record is at most ~1 KiB of text plus dictionary
  while (true) {
    ssize_t n = ::read(kmsg_fd, rec, sizeof rec);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EPIPE) {  // records overwritten before we read them
        batch += "[ktstr-guest: kernel log records lost]\n";
        continue;
      }
      usable = errno == EAGAIN;  // EAGAIN: caught up; anything else will not get better
      break;
    }
    if (n == 0) break;
    batch += format_kmsg_record(std::string_view(rec, static_cast<size_t>(n)));
    if (batch.size() >= FrameSink::kMaxChunk) {
      KTSTR_TRY(sink.stream(wire::MsgType::kDmesg, batch));
      batch.clear();
    }
  }
  if (!batch.empty()) KTSTR_TRY(sink.stream(wire::MsgType::kDmesg, batch));
  return usable;
}

Result<ExitStatus> run_and_forward(const PumpOptions& opts, FrameSink& sink) {
  KTSTR_ASSIGN(Pipe out, make_pipe(), "stdout pipe");
  KTSTR_ASSIGN(Pipe err, make_pipe(), "stderr pipe");
  SpawnOptions so;
  so.devnull_stdin = true;
  so.stdout_fd = out.write.get();
  so.stderr_fd = err.write.get();
  so.extra_env = opts.env;
  KTSTR_ASSIGN(Child child, Child::spawn({opts.shell, "-c", opts.command}, so),
               "starting the command");
  out.write.reset();  // the child holds the write ends now
  err.write.reset();

  int kmsg = opts.kmsg_fd;
  auto pump_kmsg = [&]() -> Status {
    KTSTR_ASSIGN(bool usable, forward_kmsg(kmsg, sink));
    if (!usable) kmsg = -1;
    return {};
  };
  std::optional<ExitStatus> status;
  std::optional<Clock::time_point> drain_deadline;
  while (true) {
    if (!status) {
      status = child.poll();
      if (status) drain_deadline = Clock::now() + opts.drain_grace;
    }
    if (opts.reap_orphans) reap_children_except(status ? -1 : child.pid());
    if (status && !out.read.valid() && !err.read.valid()) break;
    if (drain_deadline && Clock::now() >= *drain_deadline) break;

    pollfd fds[3];
    nfds_t n = 0;
    int out_i = -1, err_i = -1, kmsg_i = -1;
    if (out.read.valid()) {
      out_i = static_cast<int>(n);
      fds[n++] = {out.read.get(), POLLIN, 0};
    }
    if (err.read.valid()) {
      err_i = static_cast<int>(n);
      fds[n++] = {err.read.get(), POLLIN, 0};
    }
    if (kmsg >= 0) {
      kmsg_i = static_cast<int>(n);
      fds[n++] = {kmsg, POLLIN, 0};
    }
    // No SIGCHLD plumbing: a short tick notices the exit once the pipes are quiet.
    int r = ::poll(fds, n, 50);
    if (r < 0 && errno != EINTR) return io_error("poll");
    if (r <= 0) continue;
    // Drain stdout before stderr each round; order between the two is not
    // guaranteed anyway, but within each stream it is exact.
    if (out_i >= 0 && fds[out_i].revents)
      KTSTR_TRY(pump_once(out.read, wire::MsgType::kStdout, sink));
    if (err_i >= 0 && fds[err_i].revents)
      KTSTR_TRY(pump_once(err.read, wire::MsgType::kStderr, sink));
    if (kmsg_i >= 0 && fds[kmsg_i].revents) KTSTR_TRY(pump_kmsg());
  }
  if (kmsg >= 0) KTSTR_TRY(pump_kmsg());
  return *status;
}

}  // namespace ktstr::guest
