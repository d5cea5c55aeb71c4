#include "guest/sched_view.h"

#include <time.h>

#include <charconv>
#include <cstdint>

#include "util/files.h"

namespace ktstr::guest {

namespace {

std::optional<int64_t> number_after_colon(std::string_view line) {
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto v = trim(line.substr(colon + 1));
  int64_t out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (ec != std::errc() || p == v.data()) return std::nullopt;
  return out;
}

}  // namespace

std::vector<int64_t> parse_sched_debug_nr_running(std::string_view text) {
  std::vector<int64_t> out;
  // Inside "cpu#N" and before its first .nr_running: N; otherwise kNone.
  constexpr size_t kNone = SIZE_MAX;
  size_t cpu = kNone;
  constexpr size_t kMaxCpus = 8192;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = trim(text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.rfind("cpu#", 0) == 0) {
      size_t n = 0;
      auto digits = line.substr(4);
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
      cpu = (ec == std::errc() && p != digits.data() && n < kMaxCpus) ? n : kNone;
      continue;
    }
    if (cpu != kNone && line.rfind(".nr_running", 0) == 0) {
      if (auto v = number_after_colon(line)) {
        if (out.size() <= cpu) out.resize(cpu + 1, -1);
        out[cpu] = *v;
      }
      cpu = kNone;
    }
  }
  return out;
}

GuestSchedView read_guest_sched_view(const std::filesystem::path& debugfs,
                                     const std::filesystem::path& sysfs) {
  GuestSchedView v;
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  v.monotonic_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  if (auto text = read_file(debugfs / "sched/debug"); text.ok())
    v.nr_running = parse_sched_debug_nr_running(*text);
  else
    v.errors.push_back(text.error().message());
  if (auto state = read_file(sysfs / "kernel/sched_ext/state"); state.ok())
    v.scx_state = std::string(trim(*state));
  else
    v.errors.push_back(state.error().message());
  return v;
}

nlohmann::json to_json(const GuestSchedView& v) {
  return {{"nr_running", v.nr_running},
          {"scx_state", v.scx_state ? nlohmann::json(*v.scx_state) : nlohmann::json()},
          {"monotonic_ns", v.monotonic_ns},
          {"errors", v.errors}};
}

}  // namespace ktstr::guest
