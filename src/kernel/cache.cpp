#include "kernel/cache.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "kernel/detail/lock.h"
#include "kernel/detail/metadata.h"

namespace ktstr::kernel {

namespace fs = std::filesystem;
using namespace detail;

fs::path cache_root() {
  if (const char* d = std::getenv("KTSTR_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x)
    return fs::path(x) / "ktstr" / "kernels";
  const char* home = std::getenv("HOME");
  return fs::path(home && *home ? home : "/tmp") / ".cache" / "ktstr" / "kernels";
}

KernelCache::KernelCache(fs::path root) : root_(std::move(root)) {}

Result<std::vector<KernelEntry>> KernelCache::list() const {
  std::vector<KernelEntry> out;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return out;
  fs::directory_iterator it(root_, ec);
  if (ec)
    return Error(Errc::kIo, "cannot read kernel cache " + root_.string() + ": " + ec.message());
  for (const auto& d : it) {
    std::string name = d.path().filename().string();
    if (name.starts_with(".") || !d.is_directory(ec)) continue;
    auto e = load_entry(d.path());
    if (e.ok()) out.push_back(std::move(e).value());
  }
  std::sort(out.begin(), out.end(), newer_first);
  return out;
}

Result<KernelEntry> KernelCache::get(std::string_view key) const {
  if (!valid_key(key)) return not_found("'" + std::string(key) + "' is not a cache key");
  std::error_code ec;
  fs::path dir = root_ / std::string(key);
  if (!fs::is_directory(dir, ec))
    return not_found("no kernel '" + std::string(key) + "' in the cache (" + root_.string() + ")");
  return load_entry(dir);
}

Result<std::vector<KernelEntry>> KernelCache::clean(size_t keep) {
  std::vector<KernelEntry> removed;
  std::error_code ec;
  if (!fs::exists(root_, ec)) return removed;
  KTSTR_ASSIGN(auto lock,
               FileLock::acquire(root_ / kLockFile, std::chrono::seconds(60), "the kernel cache"));
  KTSTR_ASSIGN(auto entries, list());
  auto remove_dir = [&](const fs::path& p) -> Status {
    fs::remove_all(p, ec);
    if (ec) return Error(Errc::kIo, "cannot remove " + p.string() + ": " + ec.message());
    return {};
  };
  for (size_t i = keep; i < entries.size(); ++i) {
    KTSTR_TRY(remove_dir(entries[i].dir));
    removed.push_back(entries[i]);
  }
  // Broken folders (no valid metadata) and temp folders of imports that died
  // more than an hour ago (younger ones may belong to a running import).
  auto stale = fs::file_time_type::clock::now() - std::chrono::hours(1);
  std::vector<fs::path> dirs;
  for (const auto& d : fs::directory_iterator(root_, ec))
    if (d.is_directory(ec)) dirs.push_back(d.path());
  for (const auto& dir : dirs) {
    std::string name = dir.filename().string();
    bool temp = name.starts_with(kTempPrefix);
    if (name.starts_with(".") && !temp) continue;  // .apt and friends
    if (temp ? fs::last_write_time(dir, ec) < stale : !load_entry(dir).ok()) {
      KTSTR_TRY(remove_dir(dir));
      if (!temp) {
        KernelEntry broken;
        broken.key = name;
        broken.dir = dir;
        removed.push_back(broken);
      }
    }
  }
  return removed;
}

uint64_t entry_size(const KernelEntry& e) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& f : fs::recursive_directory_iterator(e.dir, ec))
    if (f.is_regular_file(ec)) total += f.file_size(ec);
  return total;
}

}  // namespace ktstr::kernel
