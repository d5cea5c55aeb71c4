// Test harness for real-VM tests: runs the real ktstr binary with a private
// TMPDIR and checks that nothing it owned is left behind afterwards.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

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

// Where `make` put the in-tree schedulers (bin/schedulers beside ktstr).
std::filesystem::path scheduler_dir();
// Why scheduler binary `name` cannot be used (not built), or nullopt.
std::optional<std::string> scheduler_missing(const char* name);
// Skips the calling test when the scheduler binary was not built.
#define KTSTR_REQUIRE_SCHEDULER(name)                                         \
  do {                                                                        \
    if (auto why_ = ::ktstr::vmtest::scheduler_missing(name)) GTEST_SKIP() << *why_; \
  } while (0)

// Parsed JSON file (a sidecar); null when missing or not JSON.
nlohmann::json read_json(const std::filesystem::path& file);

}  // namespace ktstr::vmtest
