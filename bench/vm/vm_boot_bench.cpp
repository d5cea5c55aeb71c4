// VM boot cost of ktstr against bare QEMU, measured in the same run with the
// same accelerator, kernel and topology (preset tiny-1llc = 1n1l4c1t):
//   ktstr  `ktstr vm --preset tiny-1llc --exec true --report F`:
//          ready = report boot_ms (QEMU start -> the agent's SYS_RDY frame),
//          poweroff = wall time of the whole ktstr process.
//   bare   qemu-system-x86_64 with ktstr's machine options (taken from a
//          ktstr report's qemu_argv) and a busybox initramfs whose /init
//          prints a marker and powers off: ready = marker on the serial
//          console, poweroff = QEMU exit.
// Each side runs twice (once timed on ready, once on poweroff), 3 boots each,
// interleaved ktstr/bare, and every boot feeds both summaries. At the end it
// prints medians and the ktstr/bare ratios (goal: <= 1.10).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "boot_runs.h"
#include "kernel/cache.h"
#include "util/interrupt.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace ktstr;
using namespace ktstr::bench;

constexpr const char* kPreset = "tiny-1llc";  // 1n1l4c1t
constexpr const char* kTopology = "1n1l4c1t";
constexpr double kGoal = 1.10;

struct Setup {
  std::string error;  // non-empty: every benchmark skips with it
  KtstrRun ktstr;
  std::string accel;  // what ktstr resolved "auto" to; bare uses the same
  TempDir dir;        // holds the bare initramfs
  std::vector<std::string> bare_argv;
};

fs::path ktstr_binary() {
  if (const char* env = std::getenv("KTSTR_BIN"); env && *env) return env;
  return KTSTR_BIN_PATH;  // $<TARGET_FILE:ktstr>, from CMake
}

Status prepare(Setup& s) {
  s.ktstr.ktstr = ktstr_binary();
  if (::access(s.ktstr.ktstr.c_str(), X_OK) != 0)
    return not_found("ktstr binary " + s.ktstr.ktstr.string() +
                     " not found; build it (cmake --build BUILD --target ktstr ktstr-guest) or "
                     "set KTSTR_BIN");
  auto kern = kernel::resolve_kernel(std::nullopt);
  if (!kern.ok())
    return not_found("no kernel cached (" + kern.error().message() + "); run `" +
                     s.ktstr.ktstr.string() + " kernel fetch` first");
  s.ktstr.kernel = kern->key;
  s.ktstr.preset = kPreset;
  s.ktstr.accel = "auto";  // what a user gets; the report says what it became

  // Warm-up, untimed: builds ktstr's cached base initramfs, warms the page
  // cache, and gives the exact QEMU command line to derive the bare one from.
  KTSTR_ASSIGN(KtstrResult warm, run_ktstr_boot(s.ktstr), "warm-up ktstr vm run");
  s.accel = warm.accel;

  KTSTR_ASSIGN(s.dir, TempDir::create("ktstr-vmbench-bare-"));
  const fs::path initrd = s.dir.path() / "bare-initrd.cpio";
  fs::path busybox = "/bin/busybox";
  if (::access(busybox.c_str(), X_OK) != 0) {
    KTSTR_ASSIGN(std::string found, find_program("busybox"),
                 "busybox (install busybox-static)");
    busybox = found;
  }
  KTSTR_TRY(write_bare_initramfs(busybox, initrd), "bare initramfs");
  KTSTR_ASSIGN(s.bare_argv, bare_qemu_argv(warm.qemu_argv, initrd));
  KTSTR_TRY(run_bare_boot(s.bare_argv), "warm-up bare QEMU run (" + join_command(s.bare_argv) + ")");
  return {};
}

// Once, on first use: `--benchmark_list_tests` boots nothing.
Setup& setup() {
  static Setup s = [] {
    Setup x;
    if (auto st = prepare(x); !st.ok()) x.error = st.error().message();
    return x;
  }();
  return s;
}

struct Samples {
  std::vector<BootSample> ktstr, bare;
};
Samples g_samples;

enum class Side { kKtstr, kBare };
enum class Metric { kReady, kPoweroff };

Result<BootSample> boot_once(const Setup& s, Side side) {
  if (side == Side::kBare) return run_bare_boot(s.bare_argv);
  KTSTR_ASSIGN(KtstrResult r, run_ktstr_boot(s.ktstr));
  if (r.accel != s.accel)
    return Error(Errc::kFailed, "ktstr used accel " + r.accel + " but the bare baseline uses " +
                                    s.accel + "; the comparison would be meaningless");
  return r.sample;
}

void BM_VmBoot(benchmark::State& state, Side side, Metric metric) {
  Setup& s = setup();
  if (!s.error.empty()) {
    state.SkipWithError(s.error.c_str());
    return;
  }
  BootSample sum;
  std::string error;
  for (auto _ : state) {
    auto r = boot_once(s, side);
    if (!r.ok()) {
      error = r.error().message();
      state.SkipWithError(error.c_str());
      break;
    }
    state.SetIterationTime((metric == Metric::kReady ? r->ready_ms : r->poweroff_ms) / 1000.0);
    sum.ready_ms += r->ready_ms;
    sum.poweroff_ms += r->poweroff_ms;
    sum.cpu_ms += r->cpu_ms;
    sum.qemu_total_ms += r->qemu_total_ms;
    (side == Side::kKtstr ? g_samples.ktstr : g_samples.bare).push_back(*r);
  }
  using benchmark::Counter;
  state.counters["ready_ms"] = Counter(sum.ready_ms, Counter::kAvgIterations);
  state.counters["poweroff_ms"] = Counter(sum.poweroff_ms, Counter::kAvgIterations);
  state.counters["cpu_ms"] = Counter(sum.cpu_ms, Counter::kAvgIterations);
  if (side == Side::kKtstr)
    state.counters["qemu_total_ms"] = Counter(sum.qemu_total_ms, Counter::kAvgIterations);
}

void register_benchmarks() {
  // Interleaved, so a change in host load hits both sides alike.
  const std::pair<Side, const char*> sides[] = {{Side::kKtstr, "ktstr"}, {Side::kBare, "bare"}};
  for (auto [metric, mname] : {std::pair{Metric::kReady, "ready"}, {Metric::kPoweroff, "poweroff"}})
    for (auto [side, sname] : sides)
      benchmark::RegisterBenchmark(
          (std::string("vm_boot/") + sname + "/" + mname).c_str(),
          [side = side, metric = metric](benchmark::State& st) { BM_VmBoot(st, side, metric); })
          ->Iterations(3)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double median_of(const std::vector<BootSample>& v, double BootSample::*field) {
  std::vector<double> x;
  for (const auto& s : v) x.push_back(s.*field);
  return median(x);
}

void print_line(const char* what, double k, double b) {
  const double r = k / b;
  std::printf("vm %s: ktstr %s %.0f ms, bare %s %.0f ms, ratio X/Y = %.3f (goal <= %.2f: %s)\n",
              what, what, k, what, b, r, kGoal, r <= kGoal ? "met" : "NOT met");
}

void print_summary() {
  const auto& k = g_samples.ktstr;
  const auto& b = g_samples.bare;
  if (k.empty() || b.empty()) {
    std::printf("vm boot: no comparison (ktstr %zu boots, bare %zu boots measured)\n", k.size(),
                b.size());
    return;
  }
  const Setup& s = setup();
  std::printf("\nvm boot summary: medians of %zu ktstr and %zu bare boots, topology %s (%s), "
              "accel %s, kernel %s\n",
              k.size(), b.size(), kPreset, kTopology, s.accel.c_str(), s.ktstr.kernel.c_str());
  std::printf("bare command: %s\n", join_command(s.bare_argv).c_str());
  // The same words as the brief asks for: "ktstr ready X ms, bare ready Y ms".
  const double kr = median_of(k, &BootSample::ready_ms), br = median_of(b, &BootSample::ready_ms);
  std::printf("vm boot: ktstr ready %.0f ms, bare ready %.0f ms, ratio X/Y = %.3f (goal <= %.2f: %s)\n",
              kr, br, kr / br, kGoal, kr / br <= kGoal ? "met" : "NOT met");
  print_line("poweroff", median_of(k, &BootSample::poweroff_ms), median_of(b, &BootSample::poweroff_ms));
  print_line("cpu", median_of(k, &BootSample::cpu_ms), median_of(b, &BootSample::cpu_ms));
  const double qt = median_of(k, &BootSample::qemu_total_ms);
  std::printf("ktstr breakdown: QEMU lifetime (report total_ms) %.0f ms, outside QEMU (setup + "
              "teardown) %.0f ms\n",
              qt, median_of(k, &BootSample::poweroff_ms) - qt);
}

}  // namespace

int main(int argc, char** argv) {
  ktstr::install_interrupt_handlers();  // Ctrl-C ends the VMs through their destructors
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("vm_boot.topology", std::string(kPreset) + " = " + kTopology);
  register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  print_summary();
  benchmark::Shutdown();
  return 0;
}
