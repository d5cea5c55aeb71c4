// Fetching a bootable kernel from Debian's package mirror into the cache:
// resolve the newest unsigned image package of a flavour in a suite (with a
// private apt setup under <cache>/.apt), download it, unpack it, import it.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "kernel/cache.h"
#include "util/result.h"

namespace ktstr::kernel {

struct FetchOptions {
  std::string suite = "sid";      // sid, trixie, forky, bookworm-backports, ...
  std::string flavour = "cloud";  // cloud -> *-cloud-amd64; generic -> *-amd64
  // A kernel version prefix ("7.2", "7.2.13+deb14") or package version
  // ("7.2.13-1"); absent = the newest, which must have CONFIG_SCHED_CLASS_EXT=y.
  std::optional<std::string> version;
  std::string mirror;               // default: this machine's Debian mirror
  bool trusted_mirror = false;      // unsigned mirror ([trusted=yes]), e.g. a local file:// repo
  std::filesystem::path cache_dir;  // default: cache_root()
  std::chrono::seconds lists_max_age{600};         // reuse package lists younger than this
  std::function<void(std::string_view)> progress;  // status lines for the user
};

Result<KernelEntry> fetch_debian_kernel(const FetchOptions& opts);

// "cloud" -> "cloud-amd64", "generic"/"amd64" -> "amd64", "rt" -> "rt-amd64".
Result<std::string> debian_flavour(std::string_view flavour);

}  // namespace ktstr::kernel
