#include "kernel/fetch.h"

#include <algorithm>

#include "kernel/config.h"
#include "kernel/detail/apt.h"
#include "kernel/detail/lock.h"
#include "kernel/detail/metadata.h"
#include "kernel/image.h"
#include "kernel/version.h"
#include "util/files.h"
#include "util/interrupt.h"
#include "util/subprocess.h"
#include "util/temp_dir.h"

namespace ktstr::kernel {

namespace fs = std::filesystem;
using namespace detail;

namespace {

constexpr auto kUnpackTimeout = std::chrono::minutes(5);
constexpr auto kAptLockTimeout = std::chrono::minutes(20);

// The package version recorded after ": " in a "debian:..." source.
std::string source_package_version(const std::string& source) {
  auto at = source.rfind(": ");
  return at == std::string::npos ? std::string() : source.substr(at + 2);
}

bool matches(const KernelPackage& p, const std::string& v) {
  return version_has_prefix(p.abi, v) || version_has_prefix(p.release(), v) ||
         version_has_prefix(p.version, v);
}

struct Unpacked {
  fs::path image, config, system_map;
};

// Finds vmlinuz/config/System.map in /boot or /usr/lib/modules/<release>/.
Unpacked find_kernel_files(const fs::path& root) {
  Unpacked u;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path& p = it->path();
    if (!it->is_regular_file(ec)) continue;
    fs::path parent = p.parent_path();
    bool in_boot = parent.filename() == "boot";
    bool in_modules = parent.parent_path().filename() == "modules";
    if (!in_boot && !in_modules) continue;
    std::string name = p.filename().string();
    if (name.starts_with("vmlinuz") && u.image.empty() && looks_like_bzimage(p))
      u.image = p;
    else if ((name == "config" || name.starts_with("config-")) && u.config.empty())
      u.config = p;
    // Debian ships a one-line stub System.map (the real one is in -dbg).
    else if (name.starts_with("System.map") && it->file_size(ec) > 4096)
      u.system_map = p;
  }
  return u;
}

Status check_interrupt() {
  if (interrupted()) return Error(Errc::kFailed, "interrupted");
  return {};
}

Status unpack(const fs::path& deb, const fs::path& into) {
  SpawnOptions so;
  so.new_process_group = false;  // a terminal Ctrl-C stops it too
  KTSTR_ASSIGN(auto out,
               run_command({"dpkg-deb", "-x", deb.string(), into.string()}, kUnpackTimeout, so));
  if (!out.status.success())
    return Error(Errc::kFailed, "dpkg-deb -x " + deb.filename().string() + " failed (" +
                                    out.status.describe() + "): " + std::string(trim(out.err)));
  return {};
}

}  // namespace

Result<std::string> debian_flavour(std::string_view f) {
  if (f == "cloud" || f == "cloud-amd64") return std::string("cloud-amd64");
  if (f == "generic" || f == "amd64") return std::string("amd64");
  if (f == "rt" || f == "rt-amd64") return std::string("rt-amd64");
  return invalid_argument("--flavour '" + std::string(f) +
                          "' is not a Debian kernel flavour; use cloud, generic or rt");
}

Result<KernelEntry> fetch_debian_kernel(const FetchOptions& opts) {
  auto say = [&](const std::string& s) {
    if (opts.progress) opts.progress(s);
  };
  KTSTR_ASSIGN(std::string flavour, debian_flavour(opts.flavour));
  KernelCache cache(opts.cache_dir.empty() ? cache_root() : opts.cache_dir);

  // An explicitly requested version that is already cached needs no network.
  if (opts.version) {
    KTSTR_ASSIGN(auto entries, cache.list());
    for (const auto& e : entries) {
      if (!e.source.starts_with("debian:") || !release_abi(e.version, flavour)) continue;
      if (version_has_prefix(e.version, *opts.version) ||
          version_has_prefix(source_package_version(e.source), *opts.version)) {
        say(e.key + " is already cached (" + e.dir.string() + ")");
        return e;
      }
    }
  }

  Mirror mirror = system_mirror();
  if (!opts.mirror.empty()) mirror.uri = opts.mirror;
  mirror.trusted = opts.trusted_mirror;
  fs::path apt_dir = cache.root() / ".apt" / opts.suite;
  std::error_code ec;
  fs::create_directories(cache.root() / ".apt", ec);
  if (ec)
    return Error(Errc::kIo,
                 "cannot create " + (cache.root() / ".apt").string() + ": " + ec.message());
  KTSTR_ASSIGN(auto apt, PrivateApt::create(apt_dir, opts.suite, mirror));
  // One fetch per suite at a time: they share the package lists.
  KTSTR_ASSIGN(auto lock, FileLock::acquire(cache.root() / ".apt" / (opts.suite + ".lock"),
                                            kAptLockTimeout, "fetching from Debian " + opts.suite));

  say("reading Debian " + opts.suite + " package lists from " + mirror.uri);
  KTSTR_TRY(apt.update(opts.lists_max_age));
  KTSTR_TRY(check_interrupt());
  KTSTR_ASSIGN(auto pkgs, apt.kernel_packages(flavour));
  if (pkgs.empty())
    return not_found("Debian " + opts.suite + " has no unsigned " + flavour +
                     " kernel package (looked for linux-binary-unsigned-*-" + flavour +
                     " and linux-image-*-" + flavour + "-unsigned at " + mirror.uri +
                     "); check --suite and --flavour");
  std::vector<KernelPackage> wanted;
  for (const auto& p : pkgs)
    if (!opts.version || matches(p, *opts.version)) wanted.push_back(p);
  if (wanted.empty()) {
    std::string have;
    for (const auto& p : pkgs) have += (have.empty() ? "" : ", ") + p.abi + " (" + p.version + ")";
    return not_found("no " + flavour + " kernel " + *opts.version + " in Debian " + opts.suite +
                     " (it has " + have + ")");
  }
  KernelPackage pick = *newest(wanted);
  std::string source = "debian:" + opts.suite + ":" + pick.name + ": " + pick.version;
  say((opts.version ? "found: " : "newest: ") + pick.name + " " + pick.version);

  // Already cached (same package version)? A rebuild of the same ABI gets its own key.
  std::string key = pick.release();
  if (auto e = cache.get(key); e.ok()) {
    if (source_package_version(e->source) == pick.version) {
      say(key + " is already cached (" + e->dir.string() + ")");
      return e;
    }
    key += "_" + sanitize_key(pick.version);
    if (auto e2 = cache.get(key); e2.ok()) {
      say(key + " is already cached (" + e2->dir.string() + ")");
      return e2;
    }
  }

  KTSTR_ASSIGN(TempDir tmp, TempDir::create(std::string(kTempPrefix) + "fetch-", cache.root()));
  // The config lives in linux-base-<release> for the linux-binary-* scheme.
  std::vector<std::string> downloads = {pick.name + "=" + pick.version};
  KTSTR_ASSIGN(auto show, apt.show(pick.name, pick.version));
  for (const auto& dep : depends_with_prefix(show, "linux-base-" + pick.abi))
    downloads.push_back(dep + "=" + pick.version);
  say("downloading " + join_command(downloads));
  KTSTR_TRY(apt.download(downloads, tmp.path()));
  KTSTR_TRY(check_interrupt());

  say("unpacking");
  fs::path root = tmp.path() / "root";
  for (const auto& f : fs::directory_iterator(tmp.path(), ec))
    if (f.path().extension() == ".deb") KTSTR_TRY(unpack(f.path(), root));
  KTSTR_TRY(check_interrupt());
  Unpacked files = find_kernel_files(root);
  if (files.image.empty())
    return protocol_error(pick.name + " " + pick.version +
                          " holds no bzImage under /boot or /usr/lib/modules; report this");

  if (files.config.empty()) {
    say("warning: " + pick.name + " has no kernel config; sched_ext support is unknown");
  } else {
    KTSTR_ASSIGN(auto text, read_file_limited(files.config, 16 << 20));
    if (!KernelConfig::parse(text).builtin(kSchedExt)) {
      std::string what = pick.release() + " (" + pick.name + " " + pick.version + ", Debian " +
                         opts.suite +
                         ") lacks CONFIG_SCHED_CLASS_EXT=y, so sched_ext schedulers "
                         "cannot load on it";
      if (!opts.version)
        return unavailable("the newest kernel " + what +
                           "; not cached. Try --suite sid, or name the version to fetch it anyway");
      say("warning: " + what);
    }
  }

  ImportRequest req;
  req.image = files.image;
  req.config = files.config;
  req.system_map = files.system_map;
  req.key = key;
  req.source = source;
  req.progress = opts.progress;
  return cache.import(req);
}

}  // namespace ktstr::kernel
