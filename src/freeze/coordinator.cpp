#include "freeze/coordinator.h"

#include <charconv>

#include <poll.h>
#include <sys/eventfd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "freeze/kernel_ops.h"
#include "util/percentile.h"

namespace ktstr::freeze {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kFreezeWindow = 4096;  // freeze durations kept for median / p99
constexpr unsigned kWatchLen = 8;

bool is_stopped_state(const std::string& s) { return s == "paused" || s == "debug"; }

}  // namespace

nlohmann::json FreezeStats::to_json() const {
  return {{"count", count},
          {"freezes", freezes},
          {"freeze_us", {{"median", freeze_us_median}, {"p99", freeze_us_p99}, {"max", freeze_us_max}}},
          {"watch_hits", watch_hits},
          {"watch_captures", watch_captures},
          {"watch_rate_limited", watch_rate_limited},
          {"watch_missed", watch_missed},
          {"refused_ops", refused_ops},
          {"refused_requests", refused_requests},
          {"dropped_snapshots", dropped_snapshots},
          {"send_failures", send_failures}};
}

// One VM stop, RAII: QMP stop (Sampler paused first) and, on every path,
// QMP cont (then Sampler resumed). Used under the coordinator's mutex.
class FreezeCoordinator::Freeze {
 public:
  explicit Freeze(FreezeCoordinator& c) : c_(c) {
    if (c_.sampler_) c_.sampler_->pause();
    begin_ = SteadyClock::now();
    Status st = c_.qmp_.stop();
    if (st.ok()) {
      auto state = c_.qmp_.query_status();
      if (!state.ok()) {
        st = std::move(state).error();
      } else {
        run_state_ = *state;
        if (!is_stopped_state(run_state_))
          st = Error(Errc::kFailed,
                     fmt::format("QMP stop left the VM in state '{}', not paused", run_state_));
      }
    }
    if (!st.ok()) stop_error_ = std::move(st).error().context("stopping the VM").message();
  }
  ~Freeze() { (void)thaw(); }
  Freeze(const Freeze&) = delete;
  Freeze& operator=(const Freeze&) = delete;

  bool ok() const { return stop_error_.empty(); }
  const std::string& error() const { return stop_error_; }
  const std::string& run_state() const { return run_state_; }

  // QMP cont, once; the freeze time is recorded. Its error, if any.
  Status thaw() {
    if (thawed_) return {};
    thawed_ = true;
    Status st = c_.qmp_.cont();
    us_ = static_cast<uint64_t>(
        duration_cast<microseconds>(SteadyClock::now() - begin_).count());
    if (c_.sampler_) c_.sampler_->resume();
    c_.record_freeze(us_);
    if (!st.ok()) return std::move(st).error().context("resuming the VM (QMP cont)");
    return {};
  }
  uint64_t freeze_us() const { return us_; }

 private:
  FreezeCoordinator& c_;
  SteadyClock::time_point begin_;
  std::string run_state_;
  std::string stop_error_;
  bool thawed_ = false;
  uint64_t us_ = 0;
};

FreezeCoordinator::FreezeCoordinator(vm::Qmp& qmp, monitor::GuestKernel& kernel,
                                     monitor::Sampler* sampler, wire::Sinks& sinks,
                                     SendFn send_to_guest, FreezeOptions options)
    : qmp_(qmp),
      kernel_(kernel),
      sampler_(sampler),
      sinks_(sinks),
      send_(std::move(send_to_guest)),
      opt_(std::move(options)),
      t0_(opt_.t0 ? *opt_.t0 : sinks.now()) {}

FreezeCoordinator::~FreezeCoordinator() {
  stop();
  std::lock_guard lock(mu_);
  // Detach resumes the VM (QEMU's gdbstub continues on `D`).
  if (gdb_.connected()) (void)gdb_.detach();
}

void FreezeCoordinator::record_freeze(uint64_t us) {
  ++stats_.freezes;
  stats_.freeze_us_max = std::max(stats_.freeze_us_max, us);
  if (freeze_us_.size() >= kFreezeWindow) freeze_us_.erase(freeze_us_.begin());
  freeze_us_.push_back(us);
}

Result<Snapshot> FreezeCoordinator::capture(std::string name, Trigger trigger,
                                            const std::vector<std::string>& globals) {
  std::lock_guard lock(mu_);
  return capture_locked(std::move(name), trigger, globals);
}

Result<Snapshot> FreezeCoordinator::capture_locked(std::string name, Trigger trigger,
                                                   const std::vector<std::string>& globals) {
  if (snapshots_.size() >= opt_.max_snapshots) {
    ++stats_.dropped_snapshots;
    return Error(Errc::kFailed, fmt::format("snapshot limit {} reached; '{}' was not taken",
                                            opt_.max_snapshots, name));
  }
  Snapshot snap;
  snap.name = std::move(name);
  snap.trigger = trigger;
  {
    Freeze freeze(*this);
    if (!freeze.ok())
      return Error(Errc::kFailed, fmt::format("snapshot '{}': {}", snap.name, freeze.error()));
    const auto now = sinks_.now();
    snap.t_ms = now > t0_ ? static_cast<uint64_t>(duration_cast<milliseconds>(now - t0_).count())
                          : 0;
    snap.workload_ms = workload_ms_at(sinks_.timing.state(), now).value_or(0);
    snap.step = sinks_.step_index.load();
    read_state(snap, globals);
    if (Status st = freeze.thaw(); !st.ok()) snap.errors.push_back(st.error().message());
    snap.freeze_us = freeze.freeze_us();
  }
  if (sampler_) sampler_->add_event(fmt::format("snapshot '{}'", snap.name));
  snapshots_.push_back(snap);
  ++stats_.count;
  return snap;
}

void FreezeCoordinator::read_state(Snapshot& snap, const std::vector<std::string>& globals) {
  snap.sched.t_ms = snap.t_ms;
  snap.sched.step = snap.step;
  snap.sched.paused = true;
  const guestmem::KernelSpace* space = kernel_.space.get();
  if (!space) {
    snap.errors.push_back("guest kernel memory is not mapped; nothing was read");
    return;
  }
  if (kernel_.reader) {
    snap.sched = kernel_.reader->read(*space);
    snap.sched.t_ms = snap.t_ms;
    snap.sched.step = snap.step;
    snap.sched.paused = true;
  } else {
    snap.errors.push_back("no scheduler-state reader for this kernel; cpus/global not read");
  }
  for (const auto& g : globals) {
    auto addr = kernel_.symbols.find(g);
    if (!addr) {
      snap.globals[g] = nullptr;
      snap.errors.push_back(fmt::format("global '{}': unknown kernel symbol", g));
      continue;
    }
    auto v = space->read_u64(*addr);
    if (!v.ok()) {
      snap.globals[g] = nullptr;
      snap.errors.push_back(fmt::format("global '{}': {}", g, v.error().message()));
      continue;
    }
    snap.globals[g] = *v;
  }
  if (!opt_.dump_maps) return;
  if (!kernel_.reader) {
    snap.errors.push_back("bpf maps: not read (no scheduler-state reader for per-CPU offsets)");
    return;
  }
  if (!bpf_layout_) bpf_layout_.emplace(BpfLayout::from_btf(kernel_.btf));
  if (!bpf_layout_->ok()) {
    snap.errors.push_back("bpf maps: " + bpf_layout_->error().message());
    return;
  }
  auto maps = dump_bpf_maps(*space, kernel_.symbols, *kernel_.reader, bpf_layout_->value(),
                            opt_.map_limits, &snap.errors);
  if (!maps.ok()) {
    snap.errors.push_back("bpf maps: " + maps.error().message());
    return;
  }
  snap.maps = std::move(maps).value();
}

void FreezeCoordinator::reply(const wire::SnapshotReply& r) {
  if (r.status != kSnapshotOk) ++stats_.refused_requests;
  wire::Bytes b = wire::encode(r);
  if (!send_ || !send_(wire::MsgType::kSnapshotReply, b).ok()) ++stats_.send_failures;
}

void FreezeCoordinator::reply(const wire::KernelOpReply& r) {
  if (r.status != kOk) ++stats_.refused_ops;
  wire::Bytes b = wire::encode(r);
  if (!send_ || !send_(wire::MsgType::kKernelOpReply, b).ok()) ++stats_.send_failures;
}

void FreezeCoordinator::handle_snapshot_request(const wire::SnapshotRequest& req) {
  std::lock_guard lock(mu_);
  auto fail = [&](std::string reason) { reply({req.request_id, kSnapshotFailed, std::move(reason)}); };
  if (req.kind == wire::SnapshotKind::kCapture) {
    std::string name = req.tag.empty() ? fmt::format("request#{}", req.request_id) : req.tag;
    auto snap = capture_locked(std::move(name), Trigger::kRequest, opt_.globals);
    if (!snap.ok()) return fail(snap.error().message());
    return reply({req.request_id, kSnapshotOk, ""});
  }
  if (req.kind != wire::SnapshotKind::kWatch)
    return fail(fmt::format("unknown snapshot request kind {}", static_cast<uint32_t>(req.kind)));

  const std::string& symbol = req.tag;
  if (symbol.empty()) return fail("watch request without a kernel symbol");
  // "name" or "name+offset" (decimal or 0x hex bytes): a field of a global.
  const auto plus = symbol.find('+');
  const std::string name = symbol.substr(0, plus);
  uint64_t offset = 0;
  if (plus != std::string::npos) {
    std::string_view digits = std::string_view(symbol).substr(plus + 1);
    int base = 10;
    if (digits.starts_with("0x")) {
      digits.remove_prefix(2);
      base = 16;
    }
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), offset, base);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || offset >= (1u << 20))
      return fail(fmt::format("bad watch target '{}': write a symbol, or symbol+offset in bytes "
                              "(e.g. jiffies+8, below 1 MiB)", symbol));
  }
  auto base_addr = kernel_.symbols.find(name);
  if (!base_addr) return fail(fmt::format("unknown kernel symbol '{}'", name));
  const std::optional<uint64_t> addr = *base_addr + offset;
  if (opt_.require_kernel_address && kernel_.space &&
      !guestmem::is_kernel_half(*addr, kernel_.space->layout().paging_levels))
    return fail(fmt::format(
        "'{}' is at {:#x}, not a kernel address (a per-CPU variable's offset?); watch a global",
        symbol, *addr));
  if (*addr % kWatchLen != 0)
    return fail(fmt::format(
        "misaligned watch: '{}' is at {:#x}, not {}-byte aligned (a watch covers {} bytes)",
        symbol, *addr, kWatchLen, kWatchLen));
  for (const auto& w : watches_)
    if (w.symbol == symbol) return reply({req.request_id, kSnapshotOk, "already armed"});
  if (watches_.size() >= opt_.max_watches)
    return fail(fmt::format("at most {} watches can be armed at once", opt_.max_watches));
  if (opt_.gdb_socket.empty())
    return fail("watchpoints need QEMU's gdbstub, which this run did not enable");
  if (Status st = arm_watch(symbol, *addr); !st.ok())
    return fail(fmt::format("watch '{}': {}", symbol, st.error().message()));
  reply({req.request_id, kSnapshotOk, ""});
}

Status FreezeCoordinator::arm_watch(const std::string& symbol, uint64_t addr) {
  // gdb commands need a stopped VM; attaching inside the freeze also keeps
  // the attach-stop from being a stop of its own.
  Freeze freeze(*this);
  if (!freeze.ok()) return Error(Errc::kFailed, freeze.error());
  const auto deadline = vm::deadline_in(opt_.freeze_timeout);
  if (!gdb_.connected()) {
    KTSTR_ASSIGN(gdb_, GdbClient::connect(opt_.gdb_socket, deadline), "attaching to the gdbstub");
  }
  KTSTR_TRY(gdb_.set_write_watchpoint(addr, kWatchLen, deadline));
  watches_.push_back(Watch{symbol, addr, 0, 0, std::nullopt});
  return freeze.thaw();
}

void FreezeCoordinator::handle_gdb_stops() {
  std::lock_guard lock(mu_);
  while (gdb_.connected()) {
    auto ev = gdb_.wait_stop(vm::Clock::now());
    if (!ev.ok()) {
      if (ev.error().code() != Errc::kTimeout) {
        sinks_.warn("freeze: gdbstub: " + ev.error().message() + "; watches disarmed");
        watches_.clear();
      }
      return;
    }
    // T02 stop replies are our own (or anyone's) QMP stops: nothing to do.
    if (ev->is_watch()) handle_watch_hit(*ev);
  }
}

void FreezeCoordinator::handle_watch_hit(const StopEvent& ev) {
  ++stats_.watch_hits;
  // Only a VM still stopped by this hit is captured; a freeze that came
  // first has resumed it already.
  auto state = qmp_.query_status();
  if (!state.ok() || *state != "debug") {
    ++stats_.watch_missed;
    return;
  }
  auto it = std::find_if(watches_.begin(), watches_.end(),
                         [&](const Watch& w) {
                           return ev.watch_addr >= w.addr && ev.watch_addr - w.addr < kWatchLen;
                         });
  if (it == watches_.end()) {
    (void)qmp_.cont();  // a watch we disarmed already
    return;
  }
  Watch& w = *it;
  ++w.stops;
  const auto now = sinks_.now();
  const bool rate_limited = w.last_capture && now - *w.last_capture < opt_.watch_min_interval;
  const bool full = snapshots_.size() >= opt_.max_snapshots;
  const bool take = !full && !rate_limited && w.captures < opt_.watch_max_hits;
  const bool last = full || (take && w.captures + 1 >= opt_.watch_max_hits) ||
                    w.stops >= opt_.watch_max_stops;
  std::string name = fmt::format("watch:{}#{}", w.symbol, w.captures);
  if (last) {
    // Disarm while the VM is still stopped (gdb commands need that).
    if (Status st = gdb_.clear_write_watchpoint(w.addr, kWatchLen); !st.ok())
      sinks_.warn("freeze: disarming watch '" + w.symbol + "': " + st.error().message());
    watches_.erase(it);
  } else if (take) {
    ++w.captures;
    w.last_capture = now;
  }
  if (take) {
    ++stats_.watch_captures;
    // Its QMP stop is a no-op in state "debug"; its cont (on every path)
    // resumes the VM from the hit.
    (void)capture_locked(std::move(name), Trigger::kWatch, opt_.globals);
    return;
  }
  if (rate_limited) ++stats_.watch_rate_limited;
  (void)qmp_.cont();
}

void FreezeCoordinator::handle_kernel_op(const wire::KernelOpRequest& req) {
  std::lock_guard lock(mu_);
  if (!kernel_.space || !kernel_.reader) {
    reply({req.request_id, kFault, 0, "the host cannot read this guest kernel's memory"});
    return;
  }
  KernelOpContext ctx{*kernel_.space, kernel_.symbols, kernel_.btf, *kernel_.reader};
  if (req.op != wire::KernelOp::kWrite) {
    ctx.frozen = false;
    reply(execute_kernel_op(req, ctx));
    return;
  }
  Freeze freeze(*this);
  if (!freeze.ok()) {
    reply({req.request_id, kNotFrozen, 0, "write refused: " + freeze.error()});
    return;
  }
  ctx.frozen = true;
  wire::KernelOpReply r = execute_kernel_op(req, ctx);
  if (Status st = freeze.thaw(); !st.ok() && r.status == kOk) r.reason = st.error().message();
  reply(r);
}

void FreezeCoordinator::set_periodic(uint32_t n, uint64_t workload_ms) {
  std::lock_guard lock(mu_);
  periodic_ = std::make_unique<PeriodicCapture>(
      periodic_points_ms(n, workload_ms), sinks_.timing, [this](const std::string& name) {
        // Called from tick() under mu_.
        (void)capture_locked(name, Trigger::kPeriodic, opt_.globals);
      });
}

void FreezeCoordinator::serve_once(milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    if (periodic_) {
      if (auto due = periodic_->next_due(sinks_.now())) {
        auto left = duration_cast<milliseconds>(*due - sinks_.now());
        timeout = std::clamp(left, milliseconds(0), timeout);
      } else if (!periodic_->done()) {
        timeout = std::min(timeout, milliseconds(50));  // not started / paused: poll
      }
    }
  }
  int gdb_fd;
  {
    std::lock_guard lock(mu_);
    gdb_fd = gdb_.connected() && gdb_.queued_stops() == 0 ? gdb_.fd() : -1;
    if (gdb_.queued_stops() > 0) timeout = milliseconds(0);
  }
  pollfd fds[4] = {{sinks_.snapshot_requests.fd(), POLLIN, 0},
                   {sinks_.kernel_op_requests.fd(), POLLIN, 0},
                   {gdb_fd, POLLIN, 0},
                   {wake_.get(), POLLIN, 0}};
  int r = ::poll(fds, 4, static_cast<int>(std::max<long long>(timeout.count(), 0)));
  if (r < 0 && errno != EINTR) return;
  // Watch hits first: the guest is stopped until we resume it.
  handle_gdb_stops();
  while (auto req = sinks_.snapshot_requests.try_pop()) {
    handle_snapshot_request(*req);
    handle_gdb_stops();
  }
  while (auto req = sinks_.kernel_op_requests.try_pop()) {
    handle_kernel_op(*req);
    handle_gdb_stops();
  }
  std::lock_guard lock(mu_);
  if (periodic_) periodic_->tick(sinks_.now());
}

Status FreezeCoordinator::start() {
  if (thread_.joinable()) return {};
  wake_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_.valid()) return io_error("eventfd for the freeze coordinator");
  stopping_ = false;
  thread_ = std::thread([this] {
    while (!stopping_) serve_once(milliseconds(500));
  });
  return {};
}

void FreezeCoordinator::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  thread_.join();
  wake_.reset();
}

std::vector<Snapshot> FreezeCoordinator::snapshots() const {
  std::lock_guard lock(mu_);
  return snapshots_;
}

FreezeStats FreezeCoordinator::stats() const {
  std::lock_guard lock(mu_);
  FreezeStats s = stats_;
  s.freeze_us_median = percentile(freeze_us_, 50);
  s.freeze_us_p99 = percentile(freeze_us_, 99);
  return s;
}

bool FreezeCoordinator::gdb_attached() const {
  std::lock_guard lock(mu_);
  return gdb_.connected();
}

}  // namespace ktstr::freeze
