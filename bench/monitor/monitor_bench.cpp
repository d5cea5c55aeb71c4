// Cost of one monitor sample (thread CPU time): SchedReader::read over N CPUs of a synthetic
// guest kernel (per CPU: the rq fields, rq.curr->pid and the sched_ext event
// counters; plus the globals), for N = 4, 64, 252. Reported as microseconds
// per sample and as host CPU % at the monitor's 10 Hz (time per sample /
// 100 ms). Baselines in the same run: the same field-sized reads as plain
// memcpy from a buffer of the same footprint (no translation, no bounds
// checks), and one memcpy of the same total bytes. Goal: <= 1 % of one core
// at 252 CPUs.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "monitor/synthetic_kernel.h"

namespace {

using ktstr::monitor::SyntheticKernel;
// Thread CPU time: the host CPU the sampler thread burns, whatever else the
// machine is doing.
struct Clock {
  using duration = std::chrono::nanoseconds;
  static std::chrono::nanoseconds now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  }
};

constexpr double kIntervalUs = 100'000;  // 10 Hz
// Field reads per CPU in the synthetic kernel, and their sizes: rq.nr_running,
// rq.clock, rq.curr, curr->pid, scx.nr_running, scx.flags, local_dsq.nr, and
// struct scx_event_stats (4 counters) in one read.
constexpr size_t kPieceSizes[] = {4, 8, 8, 4, 4, 4, 4, 32};
constexpr size_t kAreaSize = 0x2000;
constexpr size_t kGlobalBytes = 4 + 8 + 8 + 8;  // state, scx_root, ->pcpu, jiffies

size_t bytes_per_sample(size_t cpus) {
  size_t per_cpu = 0;
  for (size_t s : kPieceSizes) per_cpu += s;
  return cpus * per_cpu + kGlobalBytes;
}

SyntheticKernel& kernel(uint32_t cpus) {
  static std::map<uint32_t, std::unique_ptr<SyntheticKernel>> cache;
  auto& k = cache[cpus];
  if (!k) {
    auto built = SyntheticKernel::build({.nr_cpus = cpus});
    if (!built.ok()) {
      std::fprintf(stderr, "synthetic kernel: %s\n", built.error().message().c_str());
      std::abort();
    }
    k = std::move(*built);
  }
  return *k;
}

void report(benchmark::State& state, Clock::duration spent, size_t cpus) {
  const double us = std::chrono::duration<double, std::micro>(spent).count() /
                    static_cast<double>(state.iterations());
  state.counters["us_per_sample"] = us;
  state.counters["cpu_pct_10Hz"] = us / kIntervalUs * 100;
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes_per_sample(cpus)));
}

void BM_SchedRead(benchmark::State& state) {
  const auto cpus = static_cast<uint32_t>(state.range(0));
  SyntheticKernel& k = kernel(cpus);
  const auto& reader = k.reader();
  const auto& space = k.space();
  {
    const auto s = reader.read(space);  // warm the per-CPU offset cache, check it works
    if (!s.cpus.back().error.empty() || s.global.events.empty()) {
      state.SkipWithError(("read failed: " + s.cpus.back().error + s.global.error).c_str());
      return;
    }
  }
  const auto t0 = Clock::now();
  for (auto _ : state) {
    auto s = reader.read(space);
    benchmark::DoNotOptimize(s.cpus.data());
  }
  report(state, Clock::now() - t0, cpus);
}
BENCHMARK(BM_SchedRead)->Arg(4)->Arg(64)->Arg(252);

// The same reads as plain memcpy at the same offsets of a same-sized buffer.
void BM_ScatteredCopy(benchmark::State& state) {
  const auto cpus = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src(cpus * kAreaSize, 1);
  std::vector<uint8_t> dst(64);
  const size_t offsets[] = {0x4, 0x100, 0x180, 0x1040, 0x258, 0x264, 0x220, 0x1010};
  const auto t0 = Clock::now();
  for (auto _ : state) {
    for (size_t c = 0; c < cpus; ++c)
      for (size_t i = 0; i < std::size(kPieceSizes); ++i) {
        std::memcpy(dst.data(), src.data() + c * kAreaSize + offsets[i] % kAreaSize,
                    kPieceSizes[i]);
        benchmark::ClobberMemory();
      }
    std::memcpy(dst.data(), src.data(), kGlobalBytes);
    benchmark::ClobberMemory();
  }
  report(state, Clock::now() - t0, cpus);
}
BENCHMARK(BM_ScatteredCopy)->Arg(4)->Arg(64)->Arg(252);

// One contiguous memcpy of the same number of bytes.
void BM_Memcpy(benchmark::State& state) {
  const auto cpus = static_cast<size_t>(state.range(0));
  const size_t n = bytes_per_sample(cpus);
  std::vector<uint8_t> src(n, 1), dst(n);
  const auto t0 = Clock::now();
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), n);
    benchmark::ClobberMemory();
  }
  report(state, Clock::now() - t0, cpus);
}
BENCHMARK(BM_Memcpy)->Arg(4)->Arg(64)->Arg(252);

// Console output as usual, plus each run's microseconds per sample for the
// summary lines.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  explicit SummaryReporter(OutputOptions opts) : ConsoleReporter(opts) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const auto& r : runs) {
      if (r.error_occurred) continue;
      auto it = r.counters.find("us_per_sample");
      if (it == r.counters.end()) continue;
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      const std::string name = r.run_name.str();
      if (median || (r.run_type == Run::RT_Iteration && !medians_.count(name)))
        us_[name] = it->second.value;
      if (median) medians_[name] = true;
    }
    ConsoleReporter::ReportRuns(runs);
  }
  double us(const std::string& name) const {
    auto it = us_.find(name);
    return it == us_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> us_;
  std::map<std::string, bool> medians_;
};

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  SummaryReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                                 : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  for (int cpus : {4, 64, 252}) {
    const std::string n = "/" + std::to_string(cpus);
    const double read = reporter.us("BM_SchedRead" + n);
    const double scattered = reporter.us("BM_ScatteredCopy" + n);
    const double copy = reporter.us("BM_Memcpy" + n);
    if (read <= 0) continue;
    std::printf("%3d CPUs: %.1f us per sample = %.3f %% of a core at 10 Hz%s", cpus, read,
                read / kIntervalUs * 100, cpus == 252 ? " (goal <= 1 %)" : "");
    if (scattered > 0) std::printf("; %.1fx the same reads as memcpy", read / scattered);
    if (copy > 0)
      std::printf(", %.0fx one memcpy of the %zu bytes", read / copy, bytes_per_sample(cpus));
    std::printf("\n");
  }
  benchmark::Shutdown();
  return 0;
}
