// Running the user's command and forwarding what it prints (and the kernel
// log) as wire frames while it runs.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "guest/sink.h"
#include "util/result.h"
#include "util/subprocess.h"

namespace ktstr::guest {

struct PumpOptions {
  std::string shell = "/bin/sh";
  std::string command;           // run as `shell -c command`, stdin /dev/null
  std::vector<std::string> env;  // "KEY=VALUE" added for the command
  int kmsg_fd = -1;              // non-blocking /dev/kmsg to forward as DMESG, or -1
  // PID 1 must also reap orphans re-parented to it; a test must not steal
  // its other children's statuses.
  bool reap_orphans = false;
  // After the command exits, how long its stdout/stderr may stay open
  // (held by a background process) before the agent stops reading them.
  std::chrono::milliseconds drain_grace{2000};
};

// Runs the command; forwards stdout/stderr as STDOUT/STDERR frames as they
// arrive, and kernel records as DMESG frames. Returns when the command has
// exited and its pipes reached EOF (or drain_grace ran out).
Result<ExitStatus> run_and_forward(const PumpOptions& opts, FrameSink& sink);

// Forwards every record currently readable from a non-blocking /dev/kmsg fd.
// False when the fd failed for good (stop polling it); an error only when
// sending failed.
Result<bool> forward_kmsg(int kmsg_fd, FrameSink& sink);

// The EXIT frame's status: the exit code, or 128 + signal like a shell.
int exit_code_of(const ExitStatus& status);

// Reaps exited children except `keep` (which stays waitable; -1 = none);
// returns how many were reaped.
int reap_children_except(pid_t keep);

}  // namespace ktstr::guest
