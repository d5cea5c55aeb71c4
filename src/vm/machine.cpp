#include "vm/machine.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <system_error>
#include <thread>

#include <fmt/format.h>

#include "util/files.h"
#include "util/interrupt.h"
#include "util/temp_dir.h"
#include "vm/console.h"
#include "vm/detail/unix_socket.h"
#include "vm/shm.h"

namespace ktstr::vm {

namespace {

using std::chrono::milliseconds;

constexpr size_t kOutputCap = 64u << 10;

void set_nonblocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

// Reads what is available now; returns false at EOF.
bool read_available(int fd, const std::function<void(std::string_view)>& sink) {
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      sink(std::string_view(buf, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;  // other errors: treat as EOF
  }
}

std::string interrupted_message() {
  const char* name = ::sigabbrev_np(interrupt_signal());
  return fmt::format("interrupted by SIG{}", name ? name : "?");
}

int pidfd_open(pid_t pid) {
#ifdef SYS_pidfd_open
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
#else
  (void)pid;
  errno = ENOSYS;
  return -1;
#endif
}

}  // namespace

struct Machine::Impl {
  MachineSpec spec;
  StartOptions opts;
  std::vector<std::string> argv;
  TempDir dir;
  std::vector<std::filesystem::path> shm;  // created and registered
  UniqueFd con_fd, bulk_fd;
  UniqueFd out_rd;  // QEMU's stderr (+ stdout in kPipe mode)
  UniqueFd wake;    // eventfd that stops the reader thread
  UniqueFd pidfd;   // readable when QEMU exits (-1 if unsupported)
  Child child;
  pid_t pid = -1;
  Qmp qmp;
  std::unique_ptr<ConsoleLog> console;

  mutable std::mutex out_mu;
  std::string out;

  std::thread reader;
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool reader_done = false;
  bool exited = false;
  ExitStatus exit_status;

  ~Impl() {
    if (pid > 0 && !exited) kill();
    stop_reader(milliseconds(0));
    con_fd.reset();
    bulk_fd.reset();
    for (const auto& f : shm) {
      ::unlink(f.c_str());
      unregister_shm_file(f);
    }
    // dir (sockets, console.log) is removed by TempDir's destructor.
  }

  void append_output(std::string_view bytes) {
    if (opts.verbose) (void)write_all(STDERR_FILENO, bytes);
    std::lock_guard lock(out_mu);
    out.append(bytes);
    if (out.size() > kOutputCap) out.erase(0, out.size() - kOutputCap);
  }

  // QEMU's output as one line for error messages.
  std::string output_summary() const {
    std::string s;
    {
      std::lock_guard lock(out_mu);
      s = out;
    }
    std::string line;
    for (auto& part : split(s, '\n')) {
      auto t = trim(part);
      if (t.empty()) continue;
      if (!line.empty()) line += " | ";
      line += t;
    }
    if (line.size() > 1500) line = "..." + line.substr(line.size() - 1500);
    return line.empty() ? "(no output)" : line;
  }

  void start_reader() {
    wake = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    reader = std::thread([this] { reader_loop(); });
  }

  void reader_loop() {
    bool con_open = con_fd.valid(), out_open = out_rd.valid();
    auto feed_console = [this](std::string_view b) { console->feed(b); };
    auto feed_output = [this](std::string_view b) { append_output(b); };
    while (con_open || out_open) {
      pollfd fds[3] = {{wake.get(), POLLIN, 0},
                       {con_open ? con_fd.get() : -1, POLLIN, 0},
                       {out_open ? out_rd.get() : -1, POLLIN, 0}};
      int r = ::poll(fds, 3, -1);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) break;
      bool stop = fds[0].revents != 0;
      if (con_open && (fds[1].revents || stop))
        con_open = read_available(con_fd.get(), feed_console);
      if (out_open && (fds[2].revents || stop))
        out_open = read_available(out_rd.get(), feed_output);
      if (stop) break;
    }
    if (console) console->finish();
    std::lock_guard lock(done_mu);
    reader_done = true;
    done_cv.notify_all();
  }

  // Lets the reader finish reading (up to `grace`), then stops and joins it.
  void stop_reader(milliseconds grace) {
    if (!reader.joinable()) return;
    {
      std::unique_lock lock(done_mu);
      done_cv.wait_for(lock, grace, [this] { return reader_done; });
    }
    uint64_t one = 1;
    (void)!::write(wake.get(), &one, sizeof one);
    reader.join();
  }

  void drain_output_now() {
    if (out_rd.valid())
      read_available(out_rd.get(), [this](std::string_view b) { append_output(b); });
  }

  void on_exited(const ExitStatus& st) {
    if (exited) return;
    exited = true;
    exit_status = st;
    unregister_qemu_pid(pid);
    // QEMU closed its ends; the reader reaches EOF promptly.
    stop_reader(milliseconds(2000));
  }

  bool poll_exit() {
    if (exited) return true;
    if (auto st = child.poll()) {
      on_exited(*st);
      return true;
    }
    return false;
  }

  ExitStatus kill() {
    if (pid <= 0 || poll_exit()) return exit_status;
    if (qmp.connected() && qmp.quit(deadline_in(milliseconds(2000))).ok()) {
      auto st = child.wait_for(milliseconds(3000));
      if (st.ok()) {
        on_exited(*st);
        return exit_status;
      }
    }
    on_exited(child.terminate(milliseconds(2000)));
    return exit_status;
  }
};

Machine::Machine() = default;
Machine::~Machine() = default;
Machine::Machine(Machine&&) noexcept = default;
Machine& Machine::operator=(Machine&&) noexcept = default;
Machine::Machine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<Machine> Machine::start(MachineSpec spec, StartOptions options) {
  auto m = std::make_unique<Impl>();
  m->opts = std::move(options);
  const auto deadline = deadline_in(m->opts.connect_timeout);

  std::string qemu_name =
      m->opts.qemu_binary.empty() ? "qemu-system-x86_64" : m->opts.qemu_binary.string();
  auto qemu = find_program(qemu_name);
  if (!qemu.ok())
    return std::move(qemu).error().context(
        "qemu_binary (install the qemu-system-x86 package or pass the path)");

  std::filesystem::path temp_base = m->opts.temp_base;
  if (temp_base.empty()) {
    const char* t = std::getenv("TMPDIR");
    temp_base = (t && *t) ? t : "/tmp";
  }
  (void)remove_stale_vm_dirs(temp_base);
  KTSTR_ASSIGN(m->dir, TempDir::create(fmt::format("{}-{}-", kVmDirBase, ::getpid()), temp_base),
               "creating the VM temp dir");
  spec.shm_prefix = make_shm_prefix();
  spec.bulk_socket = m->dir.path() / "bulk.sock";
  spec.qmp_socket = m->dir.path() / "qmp.sock";
  spec.console_socket =
      spec.console == ConsoleMode::kPipe ? m->dir.path() / "console.sock" : std::filesystem::path();
  // QEMU listens on this one (a debugger connects later, if at all).
  spec.gdb_socket = spec.gdbstub ? m->dir.path() / "gdb.sock" : std::filesystem::path();
  KTSTR_TRY(validate(spec));
  for (auto [field, path] :
       {std::pair{"kernel", &spec.kernel}, std::pair{"initrd", &spec.initrd}}) {
    if (path->empty()) continue;
    if (::access(path->c_str(), R_OK) != 0)
      return io_error(fmt::format("{} {} is not readable", field, path->string()));
  }
  if (auto stale = remove_stale_shm(spec.shm_dir); !stale.ok() && m->opts.verbose)
    std::fprintf(stderr, "ktstr: warning: %s\n", stale.error().message().c_str());

  // Listen before QEMU starts: it connects as a client.
  KTSTR_ASSIGN(UniqueFd bulk_listen, detail::listen_unix(spec.bulk_socket));
  KTSTR_ASSIGN(UniqueFd qmp_listen, detail::listen_unix(spec.qmp_socket));
  UniqueFd con_listen;
  if (spec.console == ConsoleMode::kPipe) {
    KTSTR_ASSIGN(con_listen, detail::listen_unix(spec.console_socket));
    UniqueFd log(::open((m->dir.path() / "console.log").c_str(),
                        O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!log.valid()) return io_error("cannot create console.log in " + m->dir.path().string());
    m->console = std::make_unique<ConsoleLog>(std::move(log), m->opts.on_console_line);
  }

  // Our own 0600 files (QEMU would create them world-readable), registered
  // so every exit path removes them.
  for (const auto& path : shm_paths(spec)) {
    UniqueFd f(::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!f.valid())
      return io_error("cannot create guest RAM file " + path.string() +
                      " (is shm_dir a writable tmpfs?)");
    register_shm_file(path);
    m->shm.push_back(path);
  }

  m->argv = qemu_argv(spec);
  m->argv[0] = *qemu;
  std::vector<std::string> cmd;
  if (m->opts.kill_with_parent) {
    if (auto setpriv = find_program("setpriv"); setpriv.ok())
      cmd = {*setpriv, "--pdeathsig", "KILL", "--"};
  }
  cmd.insert(cmd.end(), m->argv.begin(), m->argv.end());
  if (m->opts.verbose) std::fprintf(stderr, "ktstr: %s\n", join_command(cmd).c_str());

  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return io_error("pipe");
  m->out_rd = UniqueFd(pipefd[0]);
  UniqueFd out_wr(pipefd[1]);
  set_nonblocking(m->out_rd.get());
  SpawnOptions so;
  so.stderr_fd = out_wr.get();
  if (spec.console == ConsoleMode::kPipe) {
    so.devnull_stdin = true;
    so.stdout_fd = out_wr.get();
    so.new_process_group = true;
  } else {
    // The interactive console needs the terminal: stay in its foreground
    // process group (a background group would get SIGTTIN).
    so.new_process_group = false;
  }
  KTSTR_ASSIGN(m->child, Child::spawn(cmd, so), "starting QEMU");
  out_wr.reset();
  m->pid = m->child.pid();
  register_qemu_pid(m->pid);
  m->pidfd = UniqueFd(pidfd_open(m->pid));
  m->spec = std::move(spec);

  Impl* raw = m.get();
  auto qemu_alive = [raw]() -> Status {
    raw->drain_output_now();
    if (interrupted()) return Error(Errc::kFailed, interrupted_message());
    if (auto st = raw->child.poll()) {
      raw->drain_output_now();
      raw->exited = true;
      raw->exit_status = *st;
      unregister_qemu_pid(raw->pid);
      return Error(Errc::kFailed,
                   fmt::format("QEMU {} at startup: {}", st->describe(), raw->output_summary()));
    }
    return {};
  };
  if (con_listen.valid()) {
    KTSTR_ASSIGN(m->con_fd,
                 detail::accept_before(con_listen.get(), deadline, "console", qemu_alive));
    set_nonblocking(m->con_fd.get());
  }
  KTSTR_ASSIGN(m->bulk_fd, detail::accept_before(bulk_listen.get(), deadline, "bulk", qemu_alive));
  KTSTR_ASSIGN(UniqueFd qmp_fd,
               detail::accept_before(qmp_listen.get(), deadline, "QMP", qemu_alive));
  auto qmp = Qmp::connect(std::move(qmp_fd), deadline);
  if (!qmp.ok()) {
    // QEMU closing QMP usually means it is exiting: report its stderr.
    (void)m->child.wait_for(milliseconds(1000));
    KTSTR_TRY(qemu_alive());
    return std::move(qmp).error().context("QEMU's QMP monitor");
  }
  m->qmp = std::move(qmp).value();
  m->start_reader();
  return Machine(std::move(m));
}

const MachineSpec& Machine::spec() const { return impl_->spec; }
const std::vector<std::string>& Machine::argv() const { return impl_->argv; }
pid_t Machine::qemu_pid() const { return impl_->pid; }
int Machine::bulk_fd() const { return impl_->bulk_fd.get(); }
std::filesystem::path Machine::gdb_socket() const { return impl_->spec.gdb_socket; }
Qmp& Machine::qmp() { return impl_->qmp; }

std::vector<std::string> Machine::console_tail() const {
  return impl_->console ? impl_->console->tail() : std::vector<std::string>{};
}

std::optional<std::string> Machine::panic_message() const {
  return impl_->console ? impl_->console->panic_message() : std::nullopt;
}

std::vector<std::string> Machine::console_incidents() const {
  return impl_->console ? impl_->console->incidents() : std::vector<std::string>{};
}

std::filesystem::path Machine::console_log() const {
  return impl_->console ? impl_->dir.path() / "console.log" : std::filesystem::path();
}

std::string Machine::qemu_output() const {
  std::lock_guard lock(impl_->out_mu);
  return impl_->out;
}

std::vector<std::filesystem::path> Machine::shm_files() const { return impl_->shm; }
std::vector<GuestRamRegion> Machine::guest_ram() const { return guest_ram_layout(impl_->spec); }

bool Machine::running() { return !impl_->poll_exit(); }

Result<ExitStatus> Machine::wait_exit(Deadline deadline) {
  Impl& m = *impl_;
  while (true) {
    if (m.poll_exit()) return m.exit_status;
    if (interrupted()) return Error(Errc::kFailed, interrupted_message());
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (left.count() <= 0)
      return timeout_error(fmt::format("QEMU (pid {}) still running at the deadline", m.pid));
    // Sleep until QEMU exits (pidfd), a signal arrives, or 50 ms pass
    // (without pidfd support).
    pollfd fds[2] = {{m.pidfd.get(), POLLIN, 0}, {interrupt_fd(), POLLIN, 0}};
    int timeout = static_cast<int>(std::min<long>(left.count(), m.pidfd.valid() ? 1000 : 50));
    (void)::poll(fds, 2, timeout);
  }
}

ExitStatus Machine::kill() { return impl_->kill(); }

}  // namespace ktstr::vm
