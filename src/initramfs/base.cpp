// build_base: the run-independent part of the initramfs, cached by content.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "initramfs/builder.h"
#include "initramfs/cpio_writer.h"
#include "initramfs/detail/file_set.h"
#include "initramfs/hash.h"
#include "util/fd.h"
#include "util/files.h"
#include "util/scope_guard.h"
#include "util/subprocess.h"

namespace ktstr::initramfs {

namespace {

constexpr const char* kPasswd = "root:x:0:0:root:/root:/bin/sh\n";
constexpr const char* kGroup = "root:x:0:\n";

// A complete archive ends with the TRAILER!!! entry (110-byte header + name,
// padded to 124 bytes); anything else is damaged and gets rebuilt.
bool looks_complete(const std::filesystem::path& p) {
  constexpr size_t kTrailerBytes = 124;
  UniqueFd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (!fd.valid() || ::fstat(fd.get(), &st) != 0 ||
      st.st_size < static_cast<off_t>(kTrailerBytes)) {
    return false;
  }
  char tail[kTrailerBytes];
  if (::pread(fd.get(), tail, sizeof tail, st.st_size - static_cast<off_t>(sizeof tail)) !=
      static_cast<ssize_t>(sizeof tail)) {
    return false;
  }
  std::string_view t(tail, sizeof tail);
  return t.substr(0, 6) == "070701" && t.substr(110, 11) == std::string_view("TRAILER!!!\0", 11);
}

Result<std::vector<std::string>> busybox_applets(const std::filesystem::path& busybox) {
  auto r = run_command({busybox.string(), "--list"}, std::chrono::seconds(10));
  if (!r.ok()) {
    return std::move(r).error().context("listing applets of " + busybox.string());
  }
  if (!r->status.success()) {
    return Error(Errc::kFailed, busybox.string() + " --list failed (" + r->status.describe() +
                                    "); is it a busybox binary for this machine?");
  }
  std::vector<std::string> applets;
  for (auto& line : split(r->out, '\n')) {
    auto name = std::string(trim(line));
    if (name.empty() || name == "busybox" || name.find('/') != std::string::npos) {
      continue;
    }
    applets.push_back(std::move(name));
  }
  if (applets.empty()) {
    return Error(Errc::kFailed, busybox.string() + " --list printed no applets");
  }
  return applets;
}

Status check_input(const std::filesystem::path& p, const char* what) {
  if (p.empty()) {
    return invalid_argument(std::string("base: ") + what + " path is empty");
  }
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) {
    return io_error(std::string("base: cannot use ") + what + " " + p.string());
  }
  if (!S_ISREG(st.st_mode)) {
    return invalid_argument(std::string("base: ") + what + " " + p.string() + " is not a file");
  }
  return {};
}

}  // namespace

Result<std::filesystem::path> build_base(const BaseSpec& spec,
                                         const std::filesystem::path& cache_dir) {
  KTSTR_TRY(check_input(spec.busybox, "busybox"));
  KTSTR_TRY(check_input(spec.agent, "agent"));
  for (auto& b : spec.extra_binaries) {
    KTSTR_TRY(check_input(b, "extra binary"));
  }

  detail::FileSet set(default_search_paths());
  KTSTR_TRY(set.add_binary("/init", spec.agent, 0755), "base");
  KTSTR_TRY(set.add_binary("/bin/busybox", spec.busybox, 0755), "base");
  for (auto& b : spec.extra_binaries) {
    KTSTR_TRY(set.add_binary("/bin/" + b.filename().string(), b, 0755), "base");
  }

  // Read every input once: the same bytes are hashed and archived, so the
  // cache key always matches the archive's contents.
  CpioWriter w;
  std::string manifest = "ktstr-initramfs-base " + std::to_string(kBaseFormatVersion) + "\n";
  for (const auto& [guest, f] : set.files()) {
    KTSTR_ASSIGN(std::string bytes, read_file(f.host), "base");
    manifest.append(guest).append(1, '\0').append(std::to_string(f.mode)).append(1, '\0');
    manifest.append(std::to_string(bytes.size())).append(1, '\0').append(hex64(xxh64(bytes)));
    manifest += '\n';
    KTSTR_TRY(w.add_file(guest, std::move(bytes), f.mode), "base");
  }
  for (const auto& [guest, target] : set.symlinks()) {
    manifest += guest + " -> " + target + '\n';
    KTSTR_TRY(w.add_symlink(guest, target), "base");
  }
  auto out = cache_dir / ("base-" + hex64(xxh64(manifest)) + ".cpio");
  if (looks_complete(out)) {
    ::utimensat(AT_FDCWD, out.c_str(), nullptr, 0);  // in use: not stale
    return out;
  }

  // Applets depend only on the busybox bytes (already in the key). No
  // /bin/init: if /init cannot run, the kernel's fallback must not be
  // busybox init.
  KTSTR_ASSIGN(auto applets, busybox_applets(spec.busybox), "base");
  for (auto& a : applets) {
    if (!w.contains("/bin/" + a) && a != "init") {
      KTSTR_TRY(w.add_symlink("/bin/" + a, "busybox"));
    }
  }
  for (const char* d :
       {"/proc", "/sys", "/sys/fs/cgroup", "/dev", "/run", "/mnt", "/root", "/etc"}) {
    KTSTR_TRY(w.add_directory(d, 0755));
  }
  KTSTR_TRY(w.add_directory("/tmp", 01777));
  KTSTR_TRY(w.add_char_device("/dev/console", 5, 1, 0600));
  KTSTR_TRY(w.add_char_device("/dev/null", 1, 3, 0666));
  KTSTR_TRY(w.add_file("/etc/passwd", kPasswd, 0644));
  KTSTR_TRY(w.add_file("/etc/group", kGroup, 0644));

  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  if (ec) {
    errno = ec.value();
    return io_error("base: cannot create cache dir " + cache_dir.string());
  }
  std::string tmp = out.string() + ".tmp-XXXXXX";
  UniqueFd fd(::mkstemp(tmp.data()));
  if (!fd.valid()) {
    return io_error("base: cannot create a temp file in " + cache_dir.string());
  }
  ScopeGuard remove_tmp([&] { ::unlink(tmp.c_str()); });
  if (::fchmod(fd.get(), 0644) != 0) {
    return io_error("base: chmod " + tmp);
  }
  KTSTR_TRY(w.write_to_fd(fd.get()), "base: writing " + tmp);
  if (::close(fd.release()) != 0) {
    return io_error("base: writing " + tmp);
  }
  if (::rename(tmp.c_str(), out.c_str()) != 0) {
    return io_error("base: cannot rename " + tmp + " to " + out.string());
  }
  remove_tmp.cancel();
  prune_stale_bases(cache_dir, out);
  return out;
}

size_t prune_stale_bases(const std::filesystem::path& cache_dir, const std::filesystem::path& keep,
                         std::chrono::seconds max_idle) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  size_t removed = 0;
  for (auto it = fs::directory_iterator(cache_dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("base-", 0) != 0 || it->path() == keep || !it->is_regular_file(ec)) continue;
    if (name.size() < 5 || (name.substr(name.size() - 5) != ".cpio" && name.find(".tmp-") == std::string::npos))
      continue;
    std::error_code tec;
    const auto mtime = fs::last_write_time(it->path(), tec);
    if (tec || now - mtime < max_idle) continue;
    if (fs::remove(it->path(), tec)) ++removed;
  }
  return removed;
}

}  // namespace ktstr::initramfs
