// Test harness for real-VM tests: runs the real ktstr binary with a private
// TMPDIR and checks that nothing it owned is left behind afterwards.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace ktstr::vmtest {

struct KtstrRun {
  ExitStatus status;
  std::string out;
  std::string err;
};

// Per-test sandbox: a private TMPDIR and a unique shm prefix owner.
class Sandbox {
 public:
  Sandbox();
  const std::filesystem::path& tmpdir() const { return tmp_.path(); }
  // Runs `ktstr args...` to completion.
  KtstrRun run(const std::vector<std::string>& args,
               std::chrono::seconds timeout = std::chrono::seconds(240)) const;
  // Starts `ktstr args...` in the background, stdout/stderr to files in the sandbox.
  Child start(const std::vector<std::string>& args) const;
  std::string read_stdout() const;
  std::string read_stderr() const;
  // Empty when the sandbox TMPDIR is empty and no shm file of `pid` exists.
  std::string leftovers(pid_t ktstr_pid) const;

 private:
  TempDir tmp_;
  std::filesystem::path scratch_;  // where backgrounded output goes (outside TMPDIR)
  TempDir scratch_dir_;
};

// Pids of processes whose parent is `pid` (from /proc/<pid>/task/*/children).
std::vector<pid_t> children_of(pid_t pid);
// Polls `pred` every 50 ms until true or the deadline; returns the last value.
bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline);
bool process_exists(pid_t pid);

}  // namespace ktstr::vmtest
