// Observer: the host watching one VM run from outside. Once the guest has
// booted and sent its kernel symbols, it maps guest RAM, attaches to the
// guest kernel (monitor::GuestKernel), samples scheduler state while the
// scenario runs (monitor::Sampler), and serves the guest's snapshot and
// kernel-op requests and the periodic captures (freeze::FreezeCoordinator).
// Everything runs on the observer's own thread; the run loop only starts
// and stops it. When attaching fails (no BTF, no KALLSYMS, a kernel we
// cannot read) the run goes on, requests get an error reply naming the
// reason, and the reason lands in Observation::notes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "freeze/snapshot.h"
#include "monitor/sample.h"
#include "util/result.h"
#include "wire/protocol.h"
#include "wire/sinks.h"

namespace ktstr::vm {
class Machine;
}

namespace ktstr::runner {

struct ObserveOptions {
  bool enabled = false;                    // sample and serve requests at all
  std::chrono::milliseconds interval{100};  // sampling period
  uint32_t periodic_snapshots = 0;         // captures spread over 10..90 % of the workload
  uint64_t workload_ms = 0;                // the scenario's planned duration
  // How long to wait for KALLSYMS after boot before giving up on attaching.
  std::chrono::seconds attach_timeout{120};
};

// What the observer saw. Empty timeline when it never attached.
struct Observation {
  bool attached = false;
  monitor::Timeline timeline;
  std::vector<freeze::Snapshot> snapshots;
  nlohmann::json freeze_stats = nlohmann::json::object();
  std::vector<std::string> notes;  // why something was not observed, one line each
};
nlohmann::json to_json(const Observation& o);

struct ObserverContext {
  vm::Machine& machine;
  wire::Sinks& sinks;
  // Sends one frame to the guest (GuestLink::send).
  std::function<Status(wire::MsgType, std::span<const uint8_t>)> send;
  std::filesystem::path btf;     // the kernel's vmlinux.btf; empty = none
  std::filesystem::path system_map;  // used when the guest sends no KALLSYMS
  // The guest's symbols from an earlier boot of this kernel, link-time
  // addresses (symbol_cache_path()); read when present, written after a
  // KALLSYMS so later boots need not send it. Empty: no cache.
  std::filesystem::path symbol_cache;
  uint64_t link_text = 0;  // link-time _text, to validate the cache
  uint32_t nr_cpus = 0;
};

// Where the guest's symbols of kernel cache entry `kernel_dir` are kept.
std::filesystem::path symbol_cache_path(const std::filesystem::path& kernel_dir);

class Observer {
 public:
  static std::unique_ptr<Observer> start(ObserverContext ctx, ObserveOptions options);
  ~Observer();  // stop()
  Observer(const Observer&) = delete;
  Observer& operator=(const Observer&) = delete;

  // Stops every thread (idempotent); result() is final afterwards.
  void stop();
  Observation result();

 private:
  struct Impl;
  explicit Observer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ktstr::runner
