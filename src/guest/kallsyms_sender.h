// The KALLSYMS message: /proc/kallsyms, zstd-compressed, sent once when the
// run spec asks (RunSpec::send_kallsyms) so the host monitor can resolve
// kernel symbols. Reading kallsyms takes a second or two under emulation;
// the agent sends it before the run starts (so the monitor sees the whole
// scenario), and the host asks only on a kernel's first boot: it keeps the
// symbols (runner/observer.h) and moves them by each boot's KASLR offset.
#pragma once

#include <filesystem>
#include <string>

#include "guest/sink.h"
#include "util/result.h"

namespace ktstr::guest {

inline constexpr std::string_view kKallsymsPath = "/proc/kallsyms";
// Far above any real kernel's kallsyms (~10 MiB with modules).
inline constexpr size_t kMaxKallsymsText = 64u << 20;

// Reads `path`, compresses it and sends one KALLSYMS frame.
Status send_kallsyms(FrameSink& sink, const std::filesystem::path& path = kKallsymsPath);


}  // namespace ktstr::guest
