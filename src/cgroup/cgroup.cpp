#include "cgroup/cgroup.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include "cgroup/detail/control.h"
#include "cgroup/detail/subtree.h"
#include "util/files.h"

namespace ktstr::cgroup {

namespace fs = std::filesystem;
using detail::Clock;

namespace {

constexpr const char* kNoInternalProcesses =
    "cgroup v2 forbids tasks in a non-root cgroup that enables controllers for its children "
    "(no internal processes); put tasks only in leaf cgroups";

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out.empty() ? "none" : out;
}

// Enables `controllers` in <dir>/cgroup.subtree_control (those not already on).
Status enable_controllers(const fs::path& dir, const std::vector<std::string>& controllers) {
  if (controllers.empty()) return {};
  KTSTR_ASSIGN(auto enabled, detail::read_words(dir / "cgroup.subtree_control"));
  KTSTR_ASSIGN(auto available, detail::read_words(dir / "cgroup.controllers"));
  for (const auto& c : controllers) {
    if (std::find(enabled.begin(), enabled.end(), c) != enabled.end()) continue;
    if (std::find(available.begin(), available.end(), c) == available.end())
      return unavailable("cgroup controller '" + c + "' is not available in " + dir.string() +
                         " (cgroup.controllers: " + join(available) +
                         "); enable it in the parent's cgroup.subtree_control, or on a cgroup "
                         "v1/hybrid host use `ktstr test` to run in a VM");
    auto s = detail::write_control(dir / "cgroup.subtree_control", "+" + c);
    if (!s.ok()) {
      if (s.error().sys_errno() == EBUSY)
        return Error(Errc::kInvalidArgument,
                     "cannot enable " + c + " in " + dir.string() +
                         "/cgroup.subtree_control: the cgroup has tasks and " +
                         kNoInternalProcesses,
                     EBUSY);
      return std::move(s).error();
    }
  }
  return {};
}

Result<topo::CpuSet> read_cpus(const fs::path& file) {
  KTSTR_ASSIGN(auto text, detail::read_control(file));
  KTSTR_ASSIGN(auto cpus, topo::CpuSet::parse_list(text), "parsing " + file.string());
  return cpus;
}

}  // namespace

Result<Cgroup> Cgroup::create(const fs::path& parent_dir, const std::string& name,
                              const CreateOptions& opts) {
  KTSTR_TRY(detail::validate_name(name));
  if (!detail::is_cgroup2(parent_dir))
    return unavailable("cannot create cgroup '" + name + "': " + parent_dir.string() +
                       " is not in a cgroup v2 hierarchy");
  Cgroup cg;  // owns what it made so far: a failure below removes it
  cg.name_ = name;
  cg.opts_ = opts;
  cg.root_ = detail::hierarchy_root(parent_dir);
  fs::path cur = parent_dir;
  auto parts = split(name, '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    fs::path next = cur / parts[i];
    bool leaf = i + 1 == parts.size();
    KTSTR_TRY(enable_controllers(cur, opts.controllers), "creating cgroup " + next.string());
    if (::mkdir(next.c_str(), 0755) == 0) {
      if (cg.owned_top_.empty()) cg.owned_top_ = next;
    } else if (errno != EEXIST) {
      return io_error("cannot create cgroup " + next.string());
    } else if (leaf) {
      return Error(Errc::kInvalidArgument,
                   "cgroup " + next.string() +
                       " already exists; pick another name or remove it (`ktstr cleanup` "
                       "removes stale ktstr cgroups)",
                   EEXIST);
    }
    cur = next;
  }
  cg.path_ = cur;
  return cg;
}

Cgroup::~Cgroup() { (void)destroy(); }

Cgroup::Cgroup(Cgroup&& o) noexcept
    : path_(std::exchange(o.path_, {})),
      owned_top_(std::exchange(o.owned_top_, {})),
      root_(std::move(o.root_)),
      name_(std::exchange(o.name_, {})),
      opts_(std::move(o.opts_)) {}

Cgroup& Cgroup::operator=(Cgroup&& o) noexcept {
  if (this != &o) {
    (void)destroy();
    path_ = std::exchange(o.path_, {});
    owned_top_ = std::exchange(o.owned_top_, {});
    root_ = std::move(o.root_);
    name_ = std::exchange(o.name_, {});
    opts_ = std::move(o.opts_);
  }
  return *this;
}

Status Cgroup::require(const char* file, const char* controller) const {
  if (!valid()) return invalid_argument(std::string("cgroup operation on an empty Cgroup"));
  std::error_code ec;
  if (fs::exists(path_ / file, ec)) return {};
  return unavailable(std::string("the ") + controller + " controller is not enabled for " +
                     path_.string() + " (no " + file + "); create it with " + controller +
                     " in CreateOptions::controllers");
}

Status Cgroup::set_cpuset(const topo::CpuSet& cpus) {
  if (cpus.empty())
    return invalid_argument("empty CPU set for " + path_.string() +
                            "; use clear_cpuset() to inherit the parent's CPUs");
  KTSTR_TRY(require("cpuset.cpus", "cpuset"));
  auto parent = path_.parent_path();
  KTSTR_ASSIGN(auto allowed, read_cpus(parent / "cpuset.cpus.effective"));
  if (!cpus.is_subset_of(allowed))
    return invalid_argument("cpuset " + cpus.to_list() + " for " + path_.string() +
                            " is not within the parent's effective CPUs " + allowed.to_list());
  // v2 inherits mems when empty; fill them only if the kernel left none.
  KTSTR_ASSIGN(auto mems, detail::read_control(path_ / "cpuset.mems.effective"));
  if (trim(mems).empty()) {
    KTSTR_ASSIGN(auto pmems, detail::read_control(parent / "cpuset.mems.effective"));
    KTSTR_TRY(detail::write_control(path_ / "cpuset.mems", trim(pmems)));
  }
  return detail::write_control(path_ / "cpuset.cpus", cpus.to_list());
}

Status Cgroup::clear_cpuset() {
  KTSTR_TRY(require("cpuset.cpus", "cpuset"));
  return detail::write_control(path_ / "cpuset.cpus", "\n");
}

Result<topo::CpuSet> Cgroup::cpuset() const {
  KTSTR_TRY(require("cpuset.cpus", "cpuset"));
  return read_cpus(path_ / "cpuset.cpus");
}

Result<topo::CpuSet> Cgroup::effective_cpus() const {
  KTSTR_TRY(require("cpuset.cpus.effective", "cpuset"));
  return read_cpus(path_ / "cpuset.cpus.effective");
}

Status Cgroup::move_task(pid_t pid) {
  if (!valid()) return invalid_argument("move_task on an empty Cgroup");
  // Writing 0 would move the writer itself.
  if (pid <= 0) return invalid_argument("move_task: pid " + std::to_string(pid) + " is not > 0");
  auto s = detail::write_control(path_ / "cgroup.procs", std::to_string(pid));
  if (s.ok()) return {};
  std::string what = "cannot move pid " + std::to_string(pid) + " into " + path_.string();
  switch (s.error().sys_errno()) {
    case ESRCH:
      return Error(Errc::kNotFound, what + ": no such process", ESRCH);
    case EBUSY:
      return Error(Errc::kInvalidArgument, what + ": " + kNoInternalProcesses, EBUSY);
    case EOPNOTSUPP:  // an ancestor holds tasks: this one is "domain invalid"
      return Error(Errc::kInvalidArgument,
                   what + ": a parent cgroup holds tasks (cgroup.type 'domain invalid'); " +
                       kNoInternalProcesses,
                   EOPNOTSUPP);
    case ENOSPC:
      return Error(Errc::kInvalidArgument,
                   what + ": its cpuset has no CPUs or memory nodes; set_cpuset() first", ENOSPC);
    default:
      return std::move(s).error();
  }
}

Status Cgroup::move_all_tasks_to(const Cgroup& dst) {
  if (!valid() || !dst.valid()) return invalid_argument("move_all_tasks_to: empty Cgroup");
  auto deadline = Clock::now() + opts_.remove_timeout;
  auto s = detail::move_subtree_tasks(path_, dst.path_, deadline);
  if (!s.ok() && (s.error().sys_errno() == EBUSY || s.error().sys_errno() == EOPNOTSUPP))
    return Error(Errc::kInvalidArgument,
                 "cannot move tasks into " + dst.path_.string() + ": " + kNoInternalProcesses,
                 EBUSY);
  return s;
}

Result<std::vector<pid_t>> Cgroup::tasks() const {
  if (!valid()) return invalid_argument("tasks() on an empty Cgroup");
  return detail::read_pids(path_ / "cgroup.procs");
}

Result<bool> Cgroup::populated() const {
  if (!valid()) return invalid_argument("populated() on an empty Cgroup");
  return detail::event_is(path_, "populated", "1");
}

Status Cgroup::set_weight(uint32_t weight) {
  if (weight < 1 || weight > 10000)
    return invalid_argument("cpu.weight " + std::to_string(weight) + " for " + path_.string() +
                            " is out of range 1..10000 (default 100)");
  KTSTR_TRY(require("cpu.weight", "cpu"));
  return detail::write_control(path_ / "cpu.weight", std::to_string(weight));
}

Status Cgroup::set_max(std::optional<uint64_t> quota_us, uint64_t period_us) {
  if (period_us < 1000 || period_us > 1000000)
    return invalid_argument("cpu.max period " + std::to_string(period_us) + "us for " +
                            path_.string() + " is out of range 1000..1000000");
  if (quota_us && *quota_us < 1000)
    return invalid_argument("cpu.max quota " + std::to_string(*quota_us) + "us for " +
                            path_.string() + " is below the kernel minimum of 1000");
  KTSTR_TRY(require("cpu.max", "cpu"));
  std::string value =
      (quota_us ? std::to_string(*quota_us) : "max") + " " + std::to_string(period_us);
  return detail::write_control(path_ / "cpu.max", value);
}

Status Cgroup::freeze(bool frozen, std::chrono::milliseconds timeout) {
  if (!valid()) return invalid_argument("freeze on an empty Cgroup");
  std::error_code ec;
  if (!fs::exists(path_ / "cgroup.freeze", ec))
    return unavailable("no cgroup.freeze in " + path_.string() + " (needs Linux 5.2+)");
  const char* v = frozen ? "1" : "0";
  KTSTR_TRY(detail::write_control(path_ / "cgroup.freeze", v));
  return detail::wait_event(path_, "frozen", v, Clock::now() + timeout);
}

Status Cgroup::kill_all(std::chrono::milliseconds timeout) {
  if (!valid()) return invalid_argument("kill_all on an empty Cgroup");
  return detail::kill_subtree(path_, Clock::now() + timeout);
}

Result<Cgroup> Cgroup::create_child(const std::string& name) const {
  if (!valid()) return invalid_argument("create_child on an empty Cgroup");
  return create(path_, name, opts_);
}

Status Cgroup::destroy() {
  fs::path top = std::exchange(owned_top_, {});
  fs::path leaf = std::exchange(path_, {});
  name_.clear();
  if (top.empty()) return {};
  auto deadline = Clock::now() + opts_.remove_timeout;
  Status evacuated = opts_.leftover == Leftover::kKill
                         ? detail::kill_subtree(top, deadline)
                         : detail::move_subtree_tasks(top, root_, deadline);
  // Try the removal even if evacuation failed: it reports what is left.
  auto removed = detail::remove_subtree(top, deadline);
  if (!evacuated.ok())
    return std::move(evacuated).error().context("removing cgroup " + leaf.string());
  if (!removed.ok()) return std::move(removed).error();
  return {};
}

fs::path Cgroup::release() {
  owned_top_.clear();
  name_.clear();
  return std::exchange(path_, {});
}

}  // namespace ktstr::cgroup
