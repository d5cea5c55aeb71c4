// Shell mode: an interactive /bin/sh on the serial console, which the host
// connects to the user's terminal.
#pragma once

#include <string>
#include <vector>

#include "guest/sink.h"
#include "util/result.h"
#include "util/subprocess.h"

namespace ktstr::guest {

struct ShellOptions {
  std::string tty = "/dev/ttyS0";
  std::string shell = "/bin/sh";
  std::vector<std::string> env;  // "KEY=VALUE"
  int kmsg_fd = -1;              // forwarded as DMESG while the shell runs, or -1
};

inline constexpr const char* kShellBanner = "ktstr shell: type exit or Ctrl-D to power off\n";

// Runs the shell as a session leader with the tty as its controlling
// terminal (job control works), prints kShellBanner on it, and waits for it
// while reaping orphans.
Result<ExitStatus> run_interactive_shell(const ShellOptions& opts, FrameSink& sink);

}  // namespace ktstr::guest
