#include "runner/observer.h"

#include <poll.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "freeze/coordinator.h"
#include "guestmem/ram_layout.h"
#include "ksyms/symbols.h"
#include "monitor/guest_kernel.h"
#include "monitor/sampler.h"
#include "util/files.h"
#include "vm/machine.h"
#include "wire/messages.h"

namespace ktstr::runner {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

struct Observer::Impl {
  ObserverContext ctx;
  ObserveOptions opt;
  std::atomic<bool> stopping{false};
  const Clock::time_point t0 = Clock::now();  // origin of sample and snapshot times
  std::thread thread;

  std::mutex mu;  // guards everything below
  Observation result;
  std::unique_ptr<monitor::GuestKernel> kernel;
  std::unique_ptr<monitor::Sampler> sampler;
  std::unique_ptr<freeze::FreezeCoordinator> coordinator;
  std::string not_attached;  // why requests cannot be served

  Impl(ObserverContext c, ObserveOptions o) : ctx(std::move(c)), opt(o) {}

  void note(std::string line) {
    std::lock_guard lock(mu);
    result.notes.push_back(std::move(line));
  }

  // A System.map-shaped table worth using: Debian's stub has one line.
  static bool plausible(const ksyms::SymbolTable& t) { return t.size() >= 1000 && t.find("_text"); }

  std::optional<uint64_t> wait_kaslr_offset(Clock::time_point deadline) {
    while (!stopping && Clock::now() < deadline) {
      if (auto o = ctx.sinks.kaslr.kaslr_offset.get()) return o;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return std::nullopt;
  }

  // The symbols of an earlier boot of this kernel, moved by this boot's
  // KASLR offset; nullopt when there are none or they do not fit.
  std::optional<ksyms::SymbolTable> cached_symbols(Clock::time_point deadline) {
    if (ctx.symbol_cache.empty() || !std::filesystem::exists(ctx.symbol_cache)) return std::nullopt;
    auto offset = wait_kaslr_offset(deadline);
    auto text = read_file(ctx.symbol_cache);
    if (!offset || !text.ok()) return std::nullopt;
    auto table = ksyms::SymbolTable::parse_system_map(*text, *offset);
    if (plausible(table) && (!ctx.link_text || table.find("_text") == ctx.link_text + *offset))
      return table;
    note("cached guest symbols " + ctx.symbol_cache.string() + " do not match this kernel; removed");
    std::error_code ec;
    std::filesystem::remove(ctx.symbol_cache, ec);
    return std::nullopt;
  }

  void remember_symbols(const ksyms::SymbolTable& table) {
    if (ctx.symbol_cache.empty() || !plausible(table)) return;
    auto offset = ctx.sinks.kaslr.kaslr_offset.get();
    if (!offset) return;
    if (auto st = write_file_atomic(ctx.symbol_cache, table.to_system_map(*offset)); !st.ok())
      note("could not cache the guest's symbols: " + st.error().message());
  }

  // Symbols: cached from an earlier boot, else the guest's KALLSYMS, else
  // a real System.map in the cache entry.
  Result<ksyms::SymbolTable> wait_symbols(Clock::time_point deadline) {
    if (auto cached = cached_symbols(deadline)) return std::move(*cached);
    while (!stopping && Clock::now() < deadline) {
      auto blob = ctx.sinks.kallsyms.pop_for(milliseconds(100));
      if (!blob) continue;
      ksyms::ParseStats stats;
      auto table = ksyms::SymbolTable::from_compressed_kallsyms(*blob, 64u << 20, &stats);
      if (!table.ok()) {
        note("KALLSYMS from the guest rejected: " + table.error().message());
        continue;
      }
      if (stats.skipped)
        note("KALLSYMS: skipped " + std::to_string(stats.skipped) + " malformed lines (first: '" +
             stats.first_bad_line + "')");
      remember_symbols(*table);
      return std::move(*table);
    }
    if (!ctx.system_map.empty()) {
      auto text = read_file(ctx.system_map);
      auto offset = ctx.sinks.kaslr.kaslr_offset.get();
      if (text.ok() && offset) {
        auto table = ksyms::SymbolTable::parse_system_map(*text, *offset);
        if (plausible(table)) return table;
      }
    }
    return ktstr::unavailable("the guest sent no kernel symbols (KALLSYMS) and the kernel has no usable System.map");
  }

  Result<std::unique_ptr<monitor::GuestKernel>> attach() {
    if (ctx.btf.empty()) return ktstr::unavailable("the kernel has no BTF in the cache entry");
    KTSTR_ASSIGN(auto symbols, wait_symbols(Clock::now() + opt.attach_timeout));
    auto phys_base = ctx.sinks.kaslr.phys_base.get();
    auto page_offset = ctx.sinks.kaslr.page_offset_base.get();
    if (!phys_base || !page_offset)
      return ktstr::unavailable("the guest sent no valid KERN_ADDRS (phys_base/page_offset_base)");
    std::map<std::string, std::filesystem::path> backends;
    for (auto& r : ctx.machine.guest_ram()) backends["mem" + std::to_string(r.node)] = r.shm_path;
    KTSTR_ASSIGN(auto ram, guestmem::query_ram_layout(ctx.machine.qmp(), backends), "guest RAM layout");
    monitor::GuestKernelInputs in;
    in.ram = std::move(ram);
    in.access = guestmem::Access::kReadWrite;
    in.symbols = std::move(symbols);
    in.btf = ctx.btf;
    in.phys_base = *phys_base;
    in.page_offset_base = *page_offset;
    in.nr_cpus = ctx.nr_cpus;
    return monitor::GuestKernel::attach(std::move(in));
  }

  // Requests wait in their queues while attaching (the guest allows 30 s);
  // once attached the coordinator answers them, and if attaching failed
  // every request gets an error reply naming the reason.
  void run() {
    auto kernel_or = attach();
    if (!kernel_or.ok()) {
      {
        std::lock_guard lock(mu);
        not_attached = kernel_or.error().message();
        result.notes.push_back("host monitor not attached: " + not_attached);
      }
      serve_until_stopped();
      return;
    }
    {
      std::lock_guard lock(mu);
      kernel = std::move(*kernel_or);
      result.attached = true;
      for (auto& n : kernel->notes) result.notes.push_back(n);
    }
    // SCENARIO_START precedes every request on the ordered wire stream.
    while (!stopping && !ctx.sinks.timing.state().start) std::this_thread::sleep_for(milliseconds(20));
    if (stopping) return;
    start_sampler();
    start_coordinator();
    // SCENARIO_END: sampling stops, so the timeline covers the workload and
    // not the scheduler being unloaded afterwards.
    while (!stopping && !ctx.sinks.timing.state().end) std::this_thread::sleep_for(milliseconds(20));
    std::lock_guard lock(mu);
    if (sampler && ctx.sinks.timing.state().end) {
      sampler->add_event("scenario end");
      sampler->stop();
    }
  }

  void start_coordinator() {
    freeze::FreezeOptions fo;
    fo.max_snapshots = 256;
    fo.gdb_socket = ctx.machine.gdb_socket();
    fo.t0 = t0;
    auto send = ctx.send;
    std::lock_guard lock(mu);
    coordinator = std::make_unique<freeze::FreezeCoordinator>(ctx.machine.qmp(), *kernel, sampler.get(),
                                                              ctx.sinks, send, fo);
    if (opt.periodic_snapshots) coordinator->set_periodic(opt.periodic_snapshots, opt.workload_ms);
    if (auto st = coordinator->start(); !st.ok())
      result.notes.push_back("freeze coordinator did not start: " + st.error().message());
  }

  void start_sampler() {
    monitor::SamplerOptions so;
    so.interval = opt.interval;
    so.qemu_pid = ctx.machine.qemu_pid();
    if (auto cpus = ctx.machine.qmp().query_cpus_fast(); cpus.ok())
      for (auto& c : *cpus) so.vcpu_threads.push_back(c.thread_id);
    wire::Sinks* sinks = &ctx.sinks;
    so.step = [sinks] { return sinks->step_index.load(); };
    so.t0 = t0;
    auto s = monitor::Sampler::start(*kernel, std::move(so));
    std::lock_guard lock(mu);
    if (s.ok()) {
      sampler = std::move(*s);
      sampler->add_event("scenario start");
    } else {
      result.notes.push_back("monitor sampler did not start: " + s.error().message());
    }
  }

  // Answers the guest's requests. Without an attached kernel every request
  // gets an error reply, so the guest never waits for its deadline.
  void serve_once(milliseconds timeout) {
    pollfd pfds[2] = {{ctx.sinks.snapshot_requests.fd(), POLLIN, 0},
                      {ctx.sinks.kernel_op_requests.fd(), POLLIN, 0}};
    ::poll(pfds, 2, static_cast<int>(timeout.count()));
    while (auto req = ctx.sinks.snapshot_requests.try_pop()) refuse(*req);
    while (auto req = ctx.sinks.kernel_op_requests.try_pop()) refuse(*req);
  }

  std::string refusal() {
    std::lock_guard lock(mu);
    return "host monitor unavailable: " + not_attached;
  }

  void refuse(const wire::SnapshotRequest& r) {
    wire::SnapshotReply reply{r.request_id, 1, refusal()};
    (void)ctx.send(wire::MsgType::kSnapshotReply, wire::encode(reply));
  }
  void refuse(const wire::KernelOpRequest& r) {
    wire::KernelOpReply reply{r.request_id, 1, 0, refusal()};
    (void)ctx.send(wire::MsgType::kKernelOpReply, wire::encode(reply));
  }

  void serve_until_stopped() {
    while (!stopping) serve_once(milliseconds(100));
  }
};

std::filesystem::path symbol_cache_path(const std::filesystem::path& kernel_dir) {
  return kernel_dir / "guest-symbols.map";
}

Observer::Observer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<Observer> Observer::start(ObserverContext ctx, ObserveOptions options) {
  auto impl = std::make_unique<Impl>(std::move(ctx), options);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<Observer>(new Observer(std::move(impl)));
}

Observer::~Observer() { stop(); }

void Observer::stop() {
  if (impl_->stopping.exchange(true)) return;
  if (impl_->thread.joinable()) impl_->thread.join();
  std::lock_guard lock(impl_->mu);
  // The coordinator first: no freeze may be in flight when sampling ends.
  if (impl_->coordinator) {
    impl_->coordinator->stop();
    impl_->result.snapshots = impl_->coordinator->snapshots();
    impl_->result.freeze_stats = impl_->coordinator->stats().to_json();
  }
  if (impl_->sampler) {
    impl_->sampler->stop();
    impl_->result.timeline = impl_->sampler->timeline();
  }
}

Observation Observer::result() {
  std::lock_guard lock(impl_->mu);
  return impl_->result;
}

nlohmann::json to_json(const Observation& o) {
  nlohmann::json snaps = nlohmann::json::array();
  for (auto& s : o.snapshots) snaps.push_back(s.to_json());
  return {{"attached", o.attached},
          {"notes", o.notes},
          {"timeline", monitor::to_json(o.timeline)},
          {"snapshots", snaps},
          {"freeze", o.freeze_stats}};
}

}  // namespace ktstr::runner
