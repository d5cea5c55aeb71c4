#include "wire/sinks.h"

#include <unistd.h>

#include <string>

namespace ktstr::wire {

bool WarnOnce::first(uint32_t key) {
  std::lock_guard lock(mu_);
  if (seen_.size() >= kMaxRemembered) return false;
  return seen_.insert(key).second;
}

size_t WarnOnce::size() const {
  std::lock_guard lock(mu_);
  return seen_.size();
}

Sinks::Sinks(SinksConfig config)
    : kaslr(config.link_text),
      snapshot_requests(config.queue_capacity),
      kernel_op_requests(config.queue_capacity),
      kallsyms(config.kallsyms_capacity),
      clock_(config.now ? std::move(config.now) : [] { return ScenarioTiming::Clock::now(); }),
      log_(config.log ? std::move(config.log) : [](std::string_view line) {
        std::string s = "ktstr wire: " + std::string(line) + "\n";
        [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, s.data(), s.size());
      }),
      max_warnings_(config.max_warnings) {}

void Sinks::warn(std::string_view line) {
  uint64_t n = warnings_.fetch_add(1, std::memory_order_relaxed);
  if (n < max_warnings_) {
    log_(line);
  } else if (n == max_warnings_) {
    log_("too many wire warnings; further ones are suppressed (drop counters still count)");
  }
}

Result<std::unique_ptr<Sinks>> Sinks::create(SinksConfig config) {
  std::unique_ptr<Sinks> s(new Sinks(std::move(config)));
  KTSTR_TRY(s->kill.open(), "kill latch");
  KTSTR_TRY(s->boot_complete.open(), "boot-complete latch");
  KTSTR_TRY(s->snapshot_requests.open(), "snapshot request queue");
  KTSTR_TRY(s->kernel_op_requests.open(), "kernel-op request queue");
  KTSTR_TRY(s->kallsyms.open(), "kallsyms queue");
  return s;
}

}  // namespace ktstr::wire
