// Child processes: spawn with explicit stdio wiring, wait with a deadline,
// and kill on destruction so no child outlives its owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace ktstr {

struct SpawnOptions {
  // -1 = inherit; otherwise dup2'ed onto 0/1/2 in the child.
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
  bool devnull_stdin = false;
  // Put the child in its own process group so a terminal Ctrl-C reaches
  // only us, and we decide how the child ends.
  bool new_process_group = true;
  std::vector<std::string> extra_env;  // "KEY=VALUE"
  std::string cwd;
};

// How a child ended: exit code, or the signal that killed it.
struct ExitStatus {
  int code = -1;    // valid when !signaled
  int signal = 0;   // valid when signaled
  bool signaled = false;
  bool success() const { return !signaled && code == 0; }
  std::string describe() const;
};

class Child {
 public:
  static Result<Child> spawn(const std::vector<std::string>& argv, const SpawnOptions& opts = {});
  Child() = default;
  ~Child();  // SIGKILLs and reaps a still-running child
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running() const { return pid_ > 0 && !status_; }
  // Non-blocking check; returns the status once the child has exited.
  std::optional<ExitStatus> poll();
  // Waits up to `timeout`; kTimeout error when still running.
  Result<ExitStatus> wait_for(std::chrono::milliseconds timeout);
  ExitStatus wait();
  void signal(int sig);
  // SIGTERM, grace period, then SIGKILL; always reaps.
  ExitStatus terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));

 private:
  explicit Child(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
};

struct CommandOutput {
  ExitStatus status;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs argv to completion, capturing stdout and stderr (each capped at 64 MiB).
Result<CommandOutput> run_command(const std::vector<std::string>& argv,
                                  std::chrono::milliseconds timeout,
                                  const SpawnOptions& opts = {});

// First executable named `name` on $PATH, or not_found.
Result<std::string> find_program(const std::string& name);

std::string join_command(const std::vector<std::string>& argv);

}  // namespace ktstr
