// The test binary on the host: boot a fresh VM whose /init is this very
// binary, have it run one test, and judge the TEST_RESULT it sends with
// the checks — the same verdict `ktstr test` gives a scenario.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "runner/test_run.h"
#include "testapi/registry.h"
#include "util/result.h"
#include "util/temp_dir.h"
#include "vm/accel.h"

namespace ktstr::testapi {

struct HostOptions {
  std::optional<std::string> kernel;  // path, cache key or version; absent = newest cached
  vm::Accel accel = vm::Accel::kAuto;
  bool verbose = false;  // QEMU command line, kernel console, notes to stderr
  // The scheduler under test (runner::choose_scheduler); absent = EEVDF.
  std::optional<runner::SchedulerChoice> scheduler;
};

// The agent to pack: a copy of this executable without debug info (a
// RelWithDebInfo test binary is ~100 MB, most of it DWARF the guest never
// reads); the executable itself when `strip` is missing or fails.
class GuestAgent {
 public:
  static Result<GuestAgent> prepare(const std::function<void(std::string_view)>& note);
  const std::filesystem::path& path() const { return path_; }

 private:
  std::optional<TempDir> dir_;
  std::filesystem::path path_;
};

Result<runner::TestOutcome> run_in_vm(const TestCase& test, const HostOptions& options,
                                      const std::filesystem::path& agent);

}  // namespace ktstr::testapi
