#include "monitor/sampler.h"

#include <algorithm>
#include <exception>

#include <fmt/format.h>

#include "monitor/host_starvation.h"

namespace ktstr::monitor {

namespace {
constexpr size_t kMaxEvents = 10000;
}

Result<std::unique_ptr<Sampler>> Sampler::start(const GuestKernel& kernel, SamplerOptions options) {
  if (!kernel.reader || !kernel.space)
    return invalid_argument("monitor: the guest kernel has no reader or address space");
  if (options.interval.count() <= 0)
    return invalid_argument(
        fmt::format("monitor: sampling interval {} ms is not positive", options.interval.count()));
  options.max_samples = std::max<size_t>(options.max_samples, 1);
  std::unique_ptr<Sampler> s(new Sampler(kernel, std::move(options)));
  s->thread_ = std::thread(&Sampler::run, s.get());
  return s;
}

Sampler::Sampler(const GuestKernel& kernel, SamplerOptions options)
    : kernel_(kernel), opt_(std::move(options)), t0_(opt_.t0.value_or(std::chrono::steady_clock::now())) {
  timeline_.interval_ms = static_cast<uint32_t>(opt_.interval.count());
  timeline_.notes = kernel_.notes;
  for (const auto& n : kernel_.reader->notes()) timeline_.notes.push_back(n);
}

Sampler::~Sampler() { stop(); }

void Sampler::pause() {
  pause_changes_.fetch_add(1);
  paused_.fetch_add(1);
}

void Sampler::resume() {
  int p = paused_.load();
  while (p > 0 && !paused_.compare_exchange_weak(p, p - 1)) {
  }
  pause_changes_.fetch_add(1);
}

uint64_t Sampler::now_ms() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0_)
          .count());
}

uint32_t Sampler::current_step() const {
  if (!opt_.step) return 0;
  try {
    return opt_.step();
  } catch (...) {
    return 0;  // the sampler never throws; a broken step source reads as step 0
  }
}

void Sampler::add_event(std::string what) {
  StimulusEvent e{.t_ms = now_ms(), .step = current_step(), .what = std::move(what)};
  std::lock_guard lk(mu_);
  if (timeline_.events.size() >= kMaxEvents) {
    ++dropped_events_;
    return;
  }
  timeline_.events.push_back(std::move(e));
}

void Sampler::stop() {
  std::lock_guard stop_lk(stop_mu_);
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

Timeline Sampler::timeline() const {
  std::lock_guard lk(mu_);
  Timeline t = timeline_;
  if (dropped_samples_)
    t.notes.push_back(fmt::format("monitor: dropped the {} oldest samples (max_samples = {})",
                                  dropped_samples_, opt_.max_samples));
  if (dropped_events_)
    t.notes.push_back(fmt::format("monitor: dropped {} stimulus events past the first {}",
                                  dropped_events_, kMaxEvents));
  return t;
}

std::optional<Sample> Sampler::latest() const {
  std::lock_guard lk(mu_);
  if (timeline_.samples.empty()) return std::nullopt;
  return timeline_.samples.back();
}

void Sampler::take_sample(HostStarvation& starvation, uint64_t& pause_changes_seen) {
  Sample s;
  try {
    s = kernel_.reader->read(*kernel_.space);
  } catch (const std::exception& e) {
    s = Sample{};
    s.global.error = fmt::format("monitor: reading guest memory threw: {}", e.what());
  }
  const auto now = std::chrono::steady_clock::now();
  s.t_ms = now_ms();
  s.step = current_step();
  std::string problem;
  s.host_starved = starvation.update(now, &problem);
  std::lock_guard lk(mu_);
  // A pause()/resume() since the previous sample: this interval saw a
  // freeze. Read under the lock so a caller that paused before looking at
  // timeline() finds every later sample flagged.
  const uint64_t changes = pause_changes_.load();
  s.paused = changes != pause_changes_seen || paused_.load() > 0;
  pause_changes_seen = changes;
  if (!problem.empty()) timeline_.notes.push_back(std::move(problem));
  timeline_.samples.push_back(std::move(s));
  if (timeline_.samples.size() > opt_.max_samples) {
    // Drop a tenth at once so the erase is rare, not a shift per sample.
    const size_t n = std::max<size_t>(1, opt_.max_samples / 10);
    const size_t drop = std::min(n, timeline_.samples.size());
    timeline_.samples.erase(timeline_.samples.begin(),
                            timeline_.samples.begin() + static_cast<std::ptrdiff_t>(drop));
    dropped_samples_ += drop;
  }
}

void Sampler::run() {
  HostStarvation starvation(opt_.qemu_pid, opt_.vcpu_threads);
  uint64_t pause_changes_seen = pause_changes_.load();
  auto next = std::chrono::steady_clock::now();
  while (!stop_.load()) {
    if (paused_.load() == 0) {
      try {
        take_sample(starvation, pause_changes_seen);
      } catch (...) {
        // Out of memory copying a sample: skip it rather than take the host down.
      }
    }
    next += opt_.interval;
    const auto now = std::chrono::steady_clock::now();
    if (next < now) next = now + opt_.interval;  // overran: skip, don't burst
    std::unique_lock lk(mu_);
    wake_.wait_until(lk, next, [this] { return stop_.load(); });
  }
}

}  // namespace ktstr::monitor
