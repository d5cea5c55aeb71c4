#include "harness.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "util/fd.h"
#include "util/files.h"

namespace ktstr::vmtest {

namespace {
TempDir must_temp(const char* prefix) {
  auto t = TempDir::create(prefix);
  if (!t.ok()) std::abort();
  return std::move(t).value();
}
}  // namespace

Sandbox::Sandbox()
    : tmp_(must_temp("ktstr-vmtest-tmp-")), scratch_dir_(must_temp("ktstr-vmtest-out-")) {
  scratch_ = scratch_dir_.path();
}

KtstrRun Sandbox::run(const std::vector<std::string>& args, std::chrono::seconds timeout) const {
  std::vector<std::string> argv = {KTSTR_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions opts;
  opts.extra_env = {"TMPDIR=" + tmp_.path().string()};
  auto r = run_command(argv, timeout, opts);
  KtstrRun out;
  if (!r.ok()) {
    out.status.code = -1;
    out.err = r.error().message();
    return out;
  }
  out.status = r->status;
  out.out = std::move(r->out);
  out.err = std::move(r->err);
  return out;
}

Child Sandbox::start(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {KTSTR_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  UniqueFd out(::open((scratch_ / "stdout").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  UniqueFd err(::open((scratch_ / "stderr").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  SpawnOptions opts;
  opts.extra_env = {"TMPDIR=" + tmp_.path().string()};
  opts.stdout_fd = out.get();
  opts.stderr_fd = err.get();
  opts.devnull_stdin = true;
  auto c = Child::spawn(argv, opts);
  if (!c.ok()) std::abort();
  return std::move(c).value();
}

std::string Sandbox::read_stdout() const { return read_file(scratch_ / "stdout").value(); }
std::string Sandbox::read_stderr() const { return read_file(scratch_ / "stderr").value(); }

std::string Sandbox::leftovers(pid_t ktstr_pid) const {
  std::string found;
  for (auto& e : std::filesystem::directory_iterator(tmp_.path()))
    found += "temp: " + e.path().string() + "\n";
  std::string prefix = "ktstr-" + std::to_string(ktstr_pid) + "-";
  for (auto& e : std::filesystem::directory_iterator("/dev/shm"))
    if (e.path().filename().string().rfind(prefix, 0) == 0)
      found += "shm: " + e.path().string() + "\n";
  return found;
}

std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> kids;
  std::error_code ec;
  for (auto& t : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(t.path() / "children");
    pid_t k;
    while (in >> k) kids.push_back(k);
  }
  return kids;
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (true) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= end) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool process_exists(pid_t pid) {
  if (::kill(pid, 0) != 0) return false;
  // A zombie still answers kill(0); treat it as gone.
  auto stat = read_file_limited("/proc/" + std::to_string(pid) + "/stat", 4096);
  if (!stat.ok()) return false;
  auto close = stat->rfind(')');
  return close == std::string::npos || stat->size() < close + 3 || (*stat)[close + 2] != 'Z';
}

std::filesystem::path scheduler_dir() {
  return std::filesystem::path(KTSTR_BIN).parent_path() / "schedulers";
}

std::optional<std::string> scheduler_missing(const char* name) {
  auto bin = scheduler_dir() / name;
  if (::access(bin.c_str(), X_OK) == 0) return std::nullopt;
  auto why = read_file(scheduler_dir() / "schedulers.info");
  return bin.string() + " was not built (" + (why.ok() ? *why : "no schedulers.info") + ")";
}

nlohmann::json read_json(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text.ok()) return nlohmann::json();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  return j.is_discarded() ? nlohmann::json() : j;
}

}  // namespace ktstr::vmtest
