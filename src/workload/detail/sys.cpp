#include "workload/detail/sys.h"

#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <utility>

namespace ktstr::workload::detail {

namespace {

volatile sig_atomic_t g_stop = 0;

void on_stop_signal(int) { g_stop = 1; }

uint64_t clock_ns(clockid_t id) {
  timespec ts;
  ::clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

timespec to_timespec(uint64_t ns) {
  return {static_cast<time_t>(ns / 1'000'000'000ULL), static_cast<long>(ns % 1'000'000'000ULL)};
}

}  // namespace

uint64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }
uint64_t thread_cpu_ns() { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }

uint64_t spin(uint64_t ops, uint64_t x) {
  for (uint64_t i = 0; i < ops; ++i) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    x ^= x >> 29;
    asm volatile("" : "+r"(x));
  }
  return x;
}

bool stop_requested() { return g_stop != 0; }

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: blocking calls return EINTR on stop
  ::sigaction(SIGUSR1, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(SIGCHLD, &dfl, nullptr);  // fork-exit reaps its own children
  ::sigaction(SIGHUP, &dfl, nullptr);
  struct sigaction ign {};
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  ::sigaction(SIGPIPE, &ign, nullptr);  // a gone partner is an EPIPE, not a death
}

bool sleep_ns(uint64_t ns) {
  const uint64_t end = mono_ns() + ns;
  while (!stop_requested()) {
    uint64_t now = mono_ns();
    if (now >= end) return true;
    timespec ts = to_timespec(std::min(end, now + kPollSliceNs));
    ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
  }
  return false;
}

int futex_wait(uint32_t* word, uint32_t expected, uint64_t timeout_ns) {
  timespec ts = to_timespec(timeout_ns);
  long rc = ::syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, nullptr, 0);
  return rc == 0 ? 0 : errno;
}

void futex_wake(uint32_t* word, int count) {
  ::syscall(SYS_futex, word, FUTEX_WAKE, count, nullptr, nullptr, 0);
}

uint64_t Rng::next() {
  uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

Result<Mapping> Mapping::anonymous(size_t bytes, bool shared) {
  Mapping m;
  if (bytes == 0) return m;
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return io_error("mmap " + std::to_string(bytes) + " bytes");
  m.p_ = static_cast<uint8_t*>(p);
  m.n_ = bytes;
  return m;
}

Mapping::Mapping(Mapping&& o) noexcept
    : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}

Mapping& Mapping::operator=(Mapping&& o) noexcept {
  if (this != &o) {
    if (p_) ::munmap(p_, n_);
    p_ = std::exchange(o.p_, nullptr);
    n_ = std::exchange(o.n_, 0);
  }
  return *this;
}

Mapping::~Mapping() {
  if (p_) ::munmap(p_, n_);
}

Schedstat read_schedstat() {
  Schedstat s;
  FILE* f = std::fopen("/proc/self/schedstat", "re");
  if (f == nullptr) return s;
  unsigned long long run = 0, wait = 0, slices = 0;
  s.ok = std::fscanf(f, "%llu %llu %llu", &run, &wait, &slices) == 3;
  std::fclose(f);
  s.run_ns = run;
  s.wait_ns = wait;
  s.timeslices = slices;
  return s;
}

std::map<uint32_t, uint64_t> numa_pages(std::span<const std::pair<const void*, size_t>> regions,
                                        size_t max_pages) {
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  size_t total = 0;
  for (const auto& [p, n] : regions) total += n / page;
  std::map<uint32_t, uint64_t> out;
  if (total == 0 || max_pages == 0) return out;
  const size_t step = std::max<size_t>(1, total / max_pages);
  std::vector<void*> pages;
  size_t k = 0;
  for (const auto& [p, n] : regions)
    for (size_t i = 0; i < n / page; ++i, ++k)
      if (k % step == 0)
        pages.push_back(const_cast<uint8_t*>(static_cast<const uint8_t*>(p)) + i * page);
  std::vector<int> status(pages.size(), -1);
  if (::syscall(SYS_move_pages, 0, pages.size(), pages.data(), nullptr, status.data(), 0) != 0)
    return out;
  for (int s : status)
    if (s >= 0) ++out[static_cast<uint32_t>(s)];
  return out;
}

void close_fds_except(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  auto close_span = [](unsigned lo, unsigned hi) {
    if (lo > hi) return;
    if (::syscall(SYS_close_range, lo, hi, 0) == 0) return;
    rlimit rl{};
    unsigned max = 65536;
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < max)
      max = static_cast<unsigned>(rl.rlim_cur);
    for (unsigned fd = lo; fd <= std::min(hi, max); ++fd) ::close(static_cast<int>(fd));
  };
  unsigned lo = 3;
  for (int k : keep) {
    if (k < 3 || static_cast<unsigned>(k) < lo) continue;
    if (static_cast<unsigned>(k) > lo) close_span(lo, static_cast<unsigned>(k) - 1);
    lo = static_cast<unsigned>(k) + 1;
  }
  close_span(lo, UINT_MAX);
}

}  // namespace ktstr::workload::detail
