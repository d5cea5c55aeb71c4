#include "workload/detail/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>

#include "util/fd.h"
#include "util/files.h"
#include "workload/report.h"

namespace ktstr::workload::detail {

namespace {

constexpr size_t kNumaProbeBytes = 1 << 20;

bool needs_io_file(const WorkSpec& s) {
  if (s.type == WorkType::kIoSync) return true;
  if (s.type != WorkType::kSequence) return false;
  for (const Phase& p : s.phases)
    if (p.kind == Phase::Kind::kIo) return true;
  return false;
}

// An unlinked file under `dir`: nothing to clean up however the worker ends.
Result<UniqueFd> open_io_file(const std::string& dir) {
  std::string path = dir + "/ktstr-io-XXXXXX";
  UniqueFd fd(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd.valid())
    return io_error("io_dir: cannot create a file in " + dir + " (set io_dir to a writable dir)");
  ::unlink(path.c_str());
  return fd;
}

[[noreturn]] void fail_setup(int fd, const Error& e) {
  std::string line = "E " + e.message();
  for (char& ch : line)
    if (ch == '\n') ch = ' ';
  line += '\n';
  (void)write_all(fd, line);
  ::_exit(1);
}

enum class Release { kGo, kStop, kExit };

// Blocks until the parent releases us (one byte), stops us, or goes away.
// The stop signals stay blocked except inside ppoll, so none is missed.
Release wait_for_release(int fd) {
  sigset_t none;
  sigemptyset(&none);
  while (true) {
    if (stop_requested()) return Release::kStop;
    pollfd pfd{fd, POLLIN, 0};
    int rc = ::ppoll(&pfd, 1, nullptr, &none);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Release::kExit;
    }
    char b;
    ssize_t n = ::read(fd, &b, 1);  // non-blocking: another worker may win the race
    if (n == 1) return Release::kGo;
    if (n == 0) return Release::kExit;
    if (errno != EAGAIN && errno != EINTR) return Release::kExit;
  }
}

}  // namespace

// "cg_1/3": what a stall message, ps or the sched_ext dump shows for this
// worker instead of its parent's name (PID 1 in the VM is "init").
void name_worker(const ChildConfig& c) {
  std::string leaf = c.cgroup.empty() ? "host" : c.cgroup.substr(c.cgroup.rfind('/') + 1);
  std::string name = leaf + "/" + std::to_string(c.index);
  if (name.size() > 15) name = name.substr(name.size() - 15);  // TASK_COMM_LEN - 1
  ::prctl(PR_SET_NAME, name.c_str());
}

void run_child(const ChildConfig& c) {
  install_stop_handlers();
  name_worker(c);
  if (c.die_with_parent) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != c.parent) ::_exit(1);
  }
  close_fds_except({c.start_fd, c.report_fd, c.pipe_in, c.pipe_out});

  // Setup: everything that can fail for a bad option fails here, before
  // "ready", so spawn() reports it.
  if (auto st = apply_mempolicy_self(c.mempolicy); !st.ok()) fail_setup(c.report_fd, st.error());
  UniqueFd io;
  if (needs_io_file(c.spec)) {
    auto fd = open_io_file(c.io_dir);
    if (!fd.ok()) fail_setup(c.report_fd, fd.error());
    io = std::move(*fd);
  }
  if (!write_all(c.report_fd, std::string(kReadyLine) + "\n").ok()) ::_exit(1);

  const Release release = wait_for_release(c.start_fd);
  if (release == Release::kExit) ::_exit(0);
  ::close(c.start_fd);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  WorkerReport r;
  r.cgroup = c.cgroup;
  r.index = c.index;
  r.pid = static_cast<int32_t>(::getpid());
  r.work_type = std::string(to_string(c.spec.type));
  r.group = c.slot.group;
  r.role = std::string(to_string(c.slot.role));

  Meter meter(0x6b74737472ULL ^ (uint64_t{c.index} * 0x9e3779b97f4a7c15ULL), c.progress);
  std::vector<Mapping> buffers;
  const bool numa = c.mempolicy.kind != MemPolicy::Kind::kDefault;
  if (release == Release::kGo && !stop_requested()) {
    // Again, now that we are in our cgroup: attaching to a cpuset rebinds it.
    Status st = apply_mempolicy_self(c.mempolicy);
    if (st.ok()) {
      meter.begin();
      WorkerEnv env{c.spec,   c.slot, c.group_members,  c.shared, c.pipe_in, c.pipe_out,
                    io.get(), meter,  Rng(c.index + 1), r.notes,  buffers};
      if (numa) {  // memory every type touches, whatever its own buffers
        auto probe = alloc_buffer(env, kNumaProbeBytes, true);
        if (!probe.ok()) st = std::move(probe).error();
      }
      if (st.ok()) st = run_work(env);
    }
    if (!st.ok()) r.error = st.error().message();
  }
  meter.finish(r);
  if (numa) {
    std::vector<std::pair<const void*, size_t>> regions;
    for (const Mapping& m : buffers) regions.emplace_back(m.data(), m.size());
    r.numa_pages = numa_pages(regions);
  }
  (void)write_all(c.report_fd, to_json(r).dump());
  ::_exit(0);
}

}  // namespace ktstr::workload::detail
