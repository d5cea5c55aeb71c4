#include "vm/shm.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <random>
#include <set>
#include <system_error>

#include <fmt/format.h>

namespace ktstr::vm {

namespace {

struct Registry {
  std::timed_mutex mu;
  std::set<std::filesystem::path> files;
  std::set<pid_t> pids;
};

Registry& registry() {
  static Registry* r = new Registry;  // never destroyed: usable at exit
  return *r;
}

bool pid_alive(pid_t pid) {
  if (pid <= 0) return false;
  if (::kill(pid, 0) == 0) return true;
  return errno != ESRCH;
}

}  // namespace

std::string make_shm_prefix(std::string_view base) {
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t r;
  {
    std::lock_guard lock(mu);
    r = rng();
  }
  return fmt::format("{}-{}-{:016x}", base, ::getpid(), r);
}

pid_t shm_owner_pid(std::string_view name, std::string_view base) {
  if (name.size() <= base.size() + 1 || name.substr(0, base.size()) != base ||
      name[base.size()] != '-')
    return -1;
  name.remove_prefix(base.size() + 1);
  size_t digits = 0;
  long long pid = 0;
  while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9' && digits < 10) {
    pid = pid * 10 + (name[digits] - '0');
    ++digits;
  }
  if (digits == 0 || digits >= name.size() || name[digits] != '-' || pid <= 0 || pid > 0x7fffffff)
    return -1;
  return static_cast<pid_t>(pid);
}

Result<size_t> remove_stale_shm(const std::filesystem::path& shm_dir, std::string_view base) {
  std::error_code ec;
  if (!std::filesystem::is_directory(shm_dir, ec)) return size_t{0};
  std::filesystem::directory_iterator it(shm_dir, ec);
  if (ec)
    return Error(Errc::kIo, fmt::format("cannot list {}: {}", shm_dir.string(), ec.message()));
  size_t removed = 0;
  std::string first_failure;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const auto name = it->path().filename().string();
    pid_t owner = shm_owner_pid(name, base);
    if (owner < 0 || owner == ::getpid() || pid_alive(owner)) continue;
    if (::unlink(it->path().c_str()) == 0) {
      ++removed;
    } else if (errno != ENOENT && first_failure.empty()) {
      first_failure = fmt::format("{}: {}", it->path().string(), std::strerror(errno));
    }
  }
  if (!first_failure.empty())
    return Error(Errc::kIo,
                 "cannot remove stale shm file " + first_failure + "; delete it by hand");
  return removed;
}

Result<size_t> remove_stale_vm_dirs(const std::filesystem::path& base) {
  std::error_code ec;
  std::filesystem::directory_iterator it(base, ec);
  if (ec) return size_t{0};
  size_t removed = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    pid_t owner = shm_owner_pid(it->path().filename().string(), kVmDirBase);
    if (owner < 0 || owner == ::getpid() || pid_alive(owner)) continue;
    std::error_code rm;
    if (std::filesystem::is_directory(it->symlink_status(rm)) &&
        std::filesystem::remove_all(it->path(), rm) > 0)
      ++removed;
  }
  return removed;
}

void register_shm_file(const std::filesystem::path& path) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.files.insert(path);
}

void unregister_shm_file(const std::filesystem::path& path) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.files.erase(path);
}

void register_qemu_pid(pid_t pid) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.pids.insert(pid);
}

void unregister_qemu_pid(pid_t pid) {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  r.pids.erase(pid);
}

std::vector<std::filesystem::path> live_shm_files() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  return {r.files.begin(), r.files.end()};
}

std::vector<pid_t> live_qemu_pids() {
  auto& r = registry();
  std::lock_guard lock(r.mu);
  return {r.pids.begin(), r.pids.end()};
}

void emergency_cleanup() {
  auto& r = registry();
  // Never deadlock a dying process on a lock some other thread holds.
  std::unique_lock lock(r.mu, std::chrono::milliseconds(200));
  if (!lock.owns_lock()) return;
  for (pid_t pid : r.pids) ::kill(pid, SIGKILL);
  for (const auto& f : r.files) ::unlink(f.c_str());
  r.pids.clear();
  r.files.clear();
}

}  // namespace ktstr::vm
