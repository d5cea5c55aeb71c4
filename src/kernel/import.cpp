// KernelCache::import: build the entry in a temp folder inside the cache
// root, then rename it into place under the cache lock.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "kernel/cache.h"
#include "kernel/config.h"
#include "kernel/detail/lock.h"
#include "kernel/detail/metadata.h"
#include "kernel/image.h"
#include "util/fd.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::kernel {

namespace fs = std::filesystem;
using namespace detail;

namespace {

constexpr size_t kMaxImage = size_t(512) << 20;

std::span<const uint8_t> bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Written and fsync'ed, so an entry that survives a crash has whole files.
Status write_synced(const fs::path& path, std::span<const uint8_t> data) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return io_error("cannot create " + path.string());
  KTSTR_TRY(write_all(fd.get(), data), "writing " + path.string());
  if (::fsync(fd.get()) != 0) return io_error("fsync " + path.string());
  return {};
}

Status fsync_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) return io_error("fsync " + dir.string());
  return {};
}

void say(const ImportRequest& req, const std::string& line) {
  if (req.progress) req.progress(line);
}

}  // namespace

Result<KernelEntry> KernelCache::import(const ImportRequest& req) {
  KTSTR_ASSIGN(auto header, read_bzimage_header(req.image));
  KTSTR_ASSIGN(std::string image, read_file_limited(req.image, kMaxImage), "reading kernel image");
  std::error_code ec;
  fs::path abs_image = fs::absolute(req.image, ec);

  KernelEntry e;
  e.version = header.release();
  if (!req.key.empty()) {
    e.key = req.key;
  } else {
    std::string name = req.name.empty() ? e.version : req.name;
    if (name.empty()) name = req.image.filename().string();
    e.key = "import-" + sanitize_key(name) + "-" + hex64(fnv1a64(bytes(image))).substr(0, 8);
  }
  if (!valid_key(e.key))
    return invalid_argument("'" + e.key +
                            "' is not a valid cache key (use letters, digits, . _ + ~ -)");
  if (auto existing = get(e.key); existing.ok()) {
    say(req, e.key + " is already in the cache");
    return existing;
  }
  if (e.version.empty()) e.version = e.key;
  e.source = req.source.empty() ? "import:" + abs_image.string() : req.source;

  // BTF and link-time _text from the vmlinux inside the image.
  say(req, "extracting vmlinux from " + req.image.string());
  std::vector<uint8_t> vmlinux;
  ElfInfo elf;
  if (auto v = extract_vmlinux(bytes(image)); v.ok()) {
    vmlinux = std::move(v).value();
    auto info = inspect_vmlinux(vmlinux);
    if (info.ok())
      elf = std::move(info).value();
    else
      say(req, "warning: cannot read the vmlinux ELF: " + info.error().message());
  } else {
    say(req, "warning: no BTF: " + v.error().message());
  }
  e.arch = elf.arch.empty() ? "x86_64" : elf.arch;
  e.has_btf = !elf.btf.empty();
  e.link_text = elf.link_text;

  std::string config;
  if (!req.config.empty()) {
    KTSTR_ASSIGN(config, read_file_limited(req.config, 16 << 20), "reading kernel config");
  } else if (auto ik = find_ikconfig(vmlinux)) {
    say(req, "using the config embedded in the image (IKCONFIG)");
    config = std::move(*ik);
  }
  vmlinux = {};
  if (!config.empty()) {
    e.config_hash = "fnv1a64:" + hex64(fnv1a64(bytes(config)));
    e.sched_ext = KernelConfig::parse(config).builtin(kSchedExt);
  }
  e.created = now_iso8601();

  fs::create_directories(root_, ec);
  if (ec)
    return Error(Errc::kIo, "cannot create kernel cache " + root_.string() + ": " + ec.message());
  KTSTR_ASSIGN(TempDir tmp, TempDir::create(std::string(kTempPrefix) + e.key + "-", root_));
  KTSTR_TRY(write_synced(tmp.path() / kImageFile, bytes(image)));
  if (!config.empty()) KTSTR_TRY(write_synced(tmp.path() / kConfigFile, bytes(config)));
  if (!req.system_map.empty()) {
    KTSTR_ASSIGN(auto map, read_file_limited(req.system_map, 256 << 20), "reading System.map");
    KTSTR_TRY(write_synced(tmp.path() / kSystemMapFile, bytes(map)));
  }
  if (e.has_btf) KTSTR_TRY(write_synced(tmp.path() / kBtfFile, elf.btf));
  // metadata.json last: a folder without it is never listed as an entry.
  std::string meta = metadata_json(e);
  KTSTR_TRY(write_synced(tmp.path() / kMetadataFile, bytes(meta)));
  if (::chmod(tmp.path().c_str(), 0755) != 0) return io_error("chmod " + tmp.path().string());

  KTSTR_ASSIGN(auto lock,
               FileLock::acquire(root_ / kLockFile, std::chrono::seconds(60), "the kernel cache"));
  fs::path dest = root_ / e.key;
  if (auto existing = get(e.key); existing.ok()) {  // another process won the race
    say(req, e.key + " is already in the cache");
    return existing;
  }
  if (fs::exists(dest, ec)) fs::remove_all(dest, ec);  // a broken folder in the way
  if (::rename(tmp.path().c_str(), dest.c_str()) != 0)
    return io_error("cannot move " + tmp.path().string() + " to " + dest.string());
  tmp.release();
  (void)fsync_dir(root_);  // best effort: the entry is complete either way
  return load_entry(dest);
}

}  // namespace ktstr::kernel
