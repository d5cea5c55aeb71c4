// VM boot cost of ktstr against bare QEMU, measured in the same run with the
// same accelerator, kernel and topology (preset tiny-1llc = 1n1l4c1t):
//   ktstr  `ktstr vm --preset tiny-1llc --exec true --report F`:
//          ready = report boot_ms (QEMU start -> the agent's SYS_RDY frame),
//          poweroff = wall time of the whole ktstr process.
//   bare   qemu-system-x86_64 with ktstr's machine options (taken from a
//          ktstr report's qemu_argv) and a busybox initramfs whose /init
//          prints a marker and powers off: ready = marker on the serial
//          console, poweroff = QEMU exit.
// Boots run in interleaved ktstr/bare pairs: 3 pairs timed on ready, 3 on
// poweroff; every pair feeds every summary line. At the end it prints
// medians and the ktstr/bare ratios (goal: <= 1.10), plus the CPU time of
// each side, which host load disturbs far less than wall time.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>

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
  std::string error;       // non-empty: every benchmark skips with it
  bool no_kernel = false;  // the one error that is a skip, not a failure
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
  if (!kern.ok()) {
    s.no_kernel = true;
    return not_found("skipped, nothing to boot: " + kern.error().message());
  }
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
    KTSTR_ASSIGN(std::string found, find_program("busybox"), "busybox (install busybox-static)");
    busybox = found;
  }
  KTSTR_TRY(write_bare_initramfs(busybox, initrd), "bare initramfs");
  KTSTR_ASSIGN(s.bare_argv, bare_qemu_argv(warm.qemu_argv, initrd));
  KTSTR_TRY(run_bare_boot(s.bare_argv),
            "warm-up bare QEMU run (" + join_command(s.bare_argv) + ")");
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

enum class Side { kKtstr, kBare };
enum class Metric { kReady, kPoweroff };

// Boots come in pairs, ktstr and bare back to back (which one first
// alternates), so a change in host load hits both sides alike. A benchmark
// takes its side's half of a pair and leaves the other half queued for its
// counterpart: vm_boot/ktstr/ready boots the pairs whose bare halves
// vm_boot/bare/ready then reports.
struct Pair {
  BootSample ktstr, bare;
};
std::vector<Pair> g_pairs;            // every pair booted, for the summary
std::deque<BootSample> g_pending[2];  // halves not yet reported, by Side
bool g_ran = false;                   // a benchmark ran (not just --benchmark_list_tests)
bool g_failed = false;                // a boot or the set-up failed: exit status 1

Result<BootSample> boot_ktstr(const Setup& s) {
  KTSTR_ASSIGN(KtstrResult r, run_ktstr_boot(s.ktstr));
  if (r.accel != s.accel)
    return Error(Errc::kFailed, "ktstr used accel " + r.accel + " but the bare baseline uses " +
                                    s.accel + "; the comparison would be meaningless");
  return r.sample;
}

Result<BootSample> take_sample(const Setup& s, Side side) {
  auto& mine = g_pending[static_cast<int>(side)];
  if (mine.empty()) {
    Pair p;
    if (g_pairs.size() % 2 == 0) {
      KTSTR_ASSIGN(p.ktstr, boot_ktstr(s));
      KTSTR_ASSIGN(p.bare, run_bare_boot(s.bare_argv), "bare QEMU");
    } else {
      KTSTR_ASSIGN(p.bare, run_bare_boot(s.bare_argv), "bare QEMU");
      KTSTR_ASSIGN(p.ktstr, boot_ktstr(s));
    }
    g_pairs.push_back(p);
    g_pending[static_cast<int>(Side::kKtstr)].push_back(p.ktstr);
    g_pending[static_cast<int>(Side::kBare)].push_back(p.bare);
  }
  BootSample out = mine.front();
  mine.pop_front();
  return out;
}

void BM_VmBoot(benchmark::State& state, Side side, Metric metric) {
  g_ran = true;
  if (interrupted()) {
    g_failed = true;
    state.SkipWithError("interrupted");
    return;
  }
  Setup& s = setup();
  if (!s.error.empty()) {
    g_failed |= !s.no_kernel;
    state.SkipWithError(s.error.c_str());
    return;
  }
  BootSample sum;
  std::string error;
  for (auto _ : state) {
    auto r = take_sample(s, side);
    if (!r.ok()) {
      error = r.error().message();
      g_failed = true;
      state.SkipWithError(error.c_str());
      break;
    }
    state.SetIterationTime((metric == Metric::kReady ? r->ready_ms : r->poweroff_ms) / 1000.0);
    sum.ready_ms += r->ready_ms;
    sum.poweroff_ms += r->poweroff_ms;
    sum.cpu_ms += r->cpu_ms;
    sum.qemu_total_ms += r->qemu_total_ms;
  }
  using benchmark::Counter;
  state.counters["ready_ms"] = Counter(sum.ready_ms, Counter::kAvgIterations);
  state.counters["poweroff_ms"] = Counter(sum.poweroff_ms, Counter::kAvgIterations);
  state.counters["cpu_ms"] = Counter(sum.cpu_ms, Counter::kAvgIterations);
  if (side == Side::kKtstr)
    state.counters["qemu_total_ms"] = Counter(sum.qemu_total_ms, Counter::kAvgIterations);
}

void register_benchmarks() {
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

// One summary line, e.g. "vm boot: ktstr ready X ms, bare ready Y ms, ratio
// X/Y = R": medians of each side, their ratio, and the median of the
// per-pair ratios (each pair shared the host load of its moment).
void print_line(const char* line, const char* value, double BootSample::*field) {
  std::vector<double> k, b, r;
  for (const auto& p : g_pairs) {
    k.push_back(p.ktstr.*field);
    b.push_back(p.bare.*field);
    r.push_back(p.ktstr.*field / p.bare.*field);
  }
  const double km = median(k), bm = median(b), ratio = km / bm;
  std::printf(
      "vm %s: ktstr %s %.0f ms, bare %s %.0f ms, ratio X/Y = %.3f (paired: %.3f; goal <= "
      "%.2f: %s)\n",
      line, value, km, value, bm, ratio, median(r), kGoal, ratio <= kGoal ? "met" : "NOT met");
}

void print_summary() {
  if (!g_ran) return;
  if (g_pairs.empty()) {
    std::printf("vm boot: no comparison (no ktstr/bare pair was measured)\n");
    return;
  }
  const Setup& s = setup();
  std::printf(
      "\nvm boot summary: medians of %zu interleaved ktstr/bare boot pairs, topology %s "
      "(%s), accel %s, kernel %s\n",
      g_pairs.size(), kPreset, kTopology, s.accel.c_str(), s.ktstr.kernel.c_str());
  std::printf("bare command: %s\n", join_command(s.bare_argv).c_str());
  for (size_t i = 0; i < g_pairs.size(); ++i) {
    const auto& [k, b] = g_pairs[i];
    std::printf(
        "  pair %zu (%s first), ktstr/bare ms: ready %.0f/%.0f, poweroff %.0f/%.0f, cpu "
        "%.0f/%.0f\n",
        i + 1, i % 2 == 0 ? "ktstr" : "bare", k.ready_ms, b.ready_ms, k.poweroff_ms, b.poweroff_ms,
        k.cpu_ms, b.cpu_ms);
  }
  print_line("boot", "ready", &BootSample::ready_ms);
  print_line("poweroff", "poweroff", &BootSample::poweroff_ms);
  print_line("cpu", "cpu", &BootSample::cpu_ms);
  std::vector<double> total, outside, k_after, b_after;
  for (const auto& p : g_pairs) {
    total.push_back(p.ktstr.qemu_total_ms);
    outside.push_back(p.ktstr.poweroff_ms - p.ktstr.qemu_total_ms);
    k_after.push_back(p.ktstr.qemu_total_ms - p.ktstr.ready_ms);
    b_after.push_back(p.bare.poweroff_ms - p.bare.ready_ms);
  }
  std::printf(
      "ktstr breakdown: QEMU lifetime (report total_ms) %.0f ms, outside QEMU (setup + "
      "teardown) %.0f ms\n",
      median(total), median(outside));
  std::printf(
      "ready -> QEMU gone: ktstr %.0f ms (KERN_ADDRS, the command, EXIT + ack), bare %.0f "
      "ms\n",
      median(k_after), median(b_after));
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
  return g_failed ? 1 : 0;
}
