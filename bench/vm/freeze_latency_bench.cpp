// Freeze latency of a 4-vCPU guest (1n2l2c1t, the run's accelerator), two
// VM runs in one benchmark run:
//   capture  `snapshot` every 100 ms under scx_simple: QMP stop, read every
//            CPU's runqueue, the sched_ext state and every BPF map of the
//            scheduler, QMP cont (each snapshot's freeze_us);
//   bare     `kernel-write` of 4 bytes every 100 ms: QMP stop, one write,
//            QMP cont — the cost of freezing at all (the freeze statistics).
// Prints median and p99 of each and the capture/bare ratios. Skips when no
// kernel is cached or scx_simple was not built.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/cache.h"
#include "util/files.h"
#include "util/percentile.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace {

namespace fs = std::filesystem;
using namespace ktstr;
using nlohmann::json;

// Runs one scenario file; returns its sidecar or an error line.
Result<json> run(const fs::path& dir, const std::string& scenario, const char* scheduler) {
  const fs::path file = fs::path(KTSTR_BENCH_SCENARIOS) / (scenario + ".toml");
  std::vector<std::string> argv = {KTSTR_BIN_PATH, "test", "--topology", "1n2l2c1t", "--out", dir.string()};
  if (scheduler) argv.insert(argv.end(), {"--scheduler", scheduler});
  argv.push_back(file.string());
  KTSTR_ASSIGN(auto out, run_command(argv, std::chrono::minutes(10)), scenario);
  const fs::path sidecar = dir / (scenario + (scheduler ? std::string(".") + scheduler : "") + ".json");
  auto text = read_file(sidecar);
  if (!text.ok())
    return Error(Errc::kFailed, scenario + ": no sidecar (" + out.status.describe() + "): " + out.err);
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || j.value("verdict", "") != "PASS")
    return Error(Errc::kFailed, scenario + ": run did not pass: " +
                                    (j.is_object() ? j.value("reason", std::string("?")) : "bad sidecar"));
  return j;
}

}  // namespace

int main() {
  if (!kernel::resolve_kernel(std::nullopt).ok()) {
    std::printf("SKIP freeze_latency_bench: no cached kernel (ktstr kernel fetch)\n");
    return 0;
  }
  const fs::path scx = fs::path(KTSTR_BIN_PATH).parent_path() / "schedulers" / "scx_simple";
  if (::access(scx.c_str(), X_OK) != 0) {
    std::printf("SKIP freeze_latency_bench: %s was not built\n", scx.c_str());
    return 0;
  }
  auto dir = TempDir::create("ktstr-freeze-bench-");
  if (!dir.ok()) return 1;
  auto capture = run(dir->path(), "freeze_capture", "scx_simple");
  auto bare = run(dir->path(), "freeze_bare", nullptr);
  if (!capture.ok() || !bare.ok()) {
    std::fprintf(stderr, "freeze_latency_bench: %s\n",
                 (!capture.ok() ? capture.error() : bare.error()).message().c_str());
    return 1;
  }
  std::vector<uint64_t> cap;
  size_t maps = 0;
  for (auto& s : (*capture)["monitor"]["snapshots"]) {
    cap.push_back(s["freeze_us"].get<uint64_t>());
    maps = std::max(maps, s["maps"].size());
  }
  const json& bs = (*bare)["monitor"]["freeze"];
  const double bare_med = bs["freeze_us"]["median"].get<double>();
  const double bare_p99 = bs["freeze_us"]["p99"].get<double>();
  // Nearest rank, as the coordinator's own statistics (util/percentile.h).
  const double cap_med = static_cast<double>(percentile(cap, 50));
  const double cap_p99 = static_cast<double>(percentile(cap, 99));
  std::printf("accelerator: %s, topology 1n2l2c1t (4 vCPUs)\n",
              (*capture).value("accel", std::string("?")).c_str());
  std::printf("capture (rqs + sched_ext + %zu BPF maps), %zu freezes: median %.0f us, p99 %.0f us\n",
              maps, cap.size(), cap_med, cap_p99);
  std::printf("bare (stop, 4-byte write, cont), %llu freezes:   median %.0f us, p99 %.0f us\n",
              static_cast<unsigned long long>(bs["freezes"].get<uint64_t>()), bare_med, bare_p99);
  if (bare_med > 0 && bare_p99 > 0)
    std::printf("capture / bare: median %.2f x, p99 %.2f x\n", cap_med / bare_med, cap_p99 / bare_p99);
  return 0;
}
