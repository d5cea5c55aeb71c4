// One `ktstr vm --exec true` run, timed from outside and from its report.
#include <fcntl.h>

#include <nlohmann/json.hpp>

#include "boot_runs.h"
#include "timed_child.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::bench {

namespace {

namespace fs = std::filesystem;
using std::chrono::duration;

constexpr auto kRunDeadline = std::chrono::minutes(10);

double ms_between(Clock::time_point a, Clock::time_point b) {
  return duration<double, std::milli>(b - a).count();
}

std::string tail_of(const fs::path& log, size_t n = 600) {
  auto text = read_file(log);
  if (!text.ok()) return "(no log)";
  std::string t(trim(*text));
  return t.size() > n ? "..." + t.substr(t.size() - n) : t;
}

// What ktstr left behind: anything in its TMPDIR, and its shm files
// (/dev/shm/ktstr-<pid>-*).
std::vector<std::string> leftovers(const fs::path& tmp, pid_t pid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(tmp, ec)) out.push_back(e.path().string());
  const std::string shm_prefix = "ktstr-" + std::to_string(pid) + "-";
  for (const auto& e : fs::directory_iterator("/dev/shm", ec))
    if (e.path().filename().string().starts_with(shm_prefix)) out.push_back(e.path().string());
  return out;
}

Result<KtstrResult> parse_report(const fs::path& path) {
  KTSTR_ASSIGN(std::string text, read_file(path), "ktstr --report");
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object())
    return protocol_error(path.string() + ": not a JSON object");
  for (const char* key : {"boot_ms", "total_ms", "accel", "qemu_argv", "outcome"})
    if (!j.contains(key)) return protocol_error(path.string() + ": no \"" + key + "\" field");
  if (j["outcome"] != "exited")
    return Error(Errc::kFailed, "ktstr vm outcome " + j["outcome"].dump() + ": " +
                                    j.value("reason", std::string()));
  KtstrResult r;
  r.sample.ready_ms = j["boot_ms"].get<double>();
  r.sample.qemu_total_ms = j["total_ms"].get<double>();
  r.accel = j["accel"].get<std::string>();
  r.qemu_argv = j["qemu_argv"].get<std::vector<std::string>>();
  if (r.sample.ready_ms <= 0) return protocol_error(path.string() + ": boot_ms is 0 (no SYS_RDY?)");
  return r;
}

}  // namespace

Result<KtstrResult> run_ktstr_boot(const KtstrRun& run) {
  KTSTR_ASSIGN(TempDir dir, TempDir::create("ktstr-vmbench-"));
  const fs::path tmp = dir.path() / "tmp";
  const fs::path report = dir.path() / "report.json";
  const fs::path log_path = dir.path() / "ktstr.log";
  std::error_code ec;
  if (!fs::create_directory(tmp, ec)) return io_error("creating " + tmp.string());
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log.valid()) return io_error("creating " + log_path.string());

  SpawnSpec spec;
  spec.argv = {run.ktstr.string(), "vm",      "--kernel", run.kernel, "--preset", run.preset,
               "--accel",          run.accel, "--exec",   "true",     "--report", report.string()};
  spec.stdout_fd = spec.stderr_fd = log.get();
  spec.extra_env = {"TMPDIR=" + tmp.string()};

  const auto t0 = Clock::now();
  KTSTR_ASSIGN(TimedChild child, TimedChild::spawn(spec), "starting ktstr");
  const pid_t pid = child.pid();
  KTSTR_ASSIGN(ChildEnd end, child.wait_until(t0 + kRunDeadline), "waiting for ktstr vm");
  if (!end.status.success())
    return Error(Errc::kFailed, "ktstr vm " + end.status.describe() + ": " + tail_of(log_path));

  KTSTR_ASSIGN(KtstrResult r, parse_report(report));
  r.sample.poweroff_ms = ms_between(t0, end.when);
  r.sample.cpu_ms = static_cast<double>(end.cpu.count());
  if (auto left = leftovers(tmp, pid); !left.empty())
    return Error(Errc::kFailed, "ktstr vm left " + std::to_string(left.size()) +
                                    " file(s) behind, e.g. " + left.front());
  return r;
}

}  // namespace ktstr::bench
