// The kernel cache: one folder per bootable kernel, holding the image, its
// config, System.map (when known), the BTF extracted at import, and
// metadata.json. Entries appear atomically (built in a temp dir, renamed
// into place under a flock), so readers never see half an entry.
//
// Layout:  <root>/<key>/{vmlinuz,config,System.map,vmlinux.btf,metadata.json}
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ktstr::kernel {

struct KernelEntry {
  std::string key;  // "7.2.13+deb14-cloud-amd64", "import-mykernel-1a2b3c4d"
  std::filesystem::path dir;
  std::filesystem::path image;       // bzImage to boot
  std::filesystem::path config;      // empty when unknown
  std::filesystem::path system_map;  // empty when unknown
  std::filesystem::path btf;         // raw .BTF bytes; empty when the kernel has none
  std::string version;               // kernel release, e.g. "7.2.13+deb14-cloud-amd64"
  std::string source;                // "debian:sid:<package>: <package version>" or "import:<path>"
  std::string arch;                  // "x86_64"
  std::string config_hash;           // "fnv1a64:<16 hex>" of the config file; empty without one
  bool sched_ext = false;            // CONFIG_SCHED_CLASS_EXT=y
  bool has_btf = false;
  std::optional<uint64_t> link_text;  // link-time address of _text (for KASLR offsets)
  std::string created;                // ISO 8601 UTC, "2025-05-20T10:11:12Z"
  bool cached = true;                 // false: resolve_kernel was given a bare image path
};

// $KTSTR_CACHE_DIR, else $XDG_CACHE_HOME/ktstr/kernels, else ~/.cache/ktstr/kernels.
std::filesystem::path cache_root();

struct ImportRequest {
  std::filesystem::path image;       // a bzImage
  std::filesystem::path config;      // optional; else read from the image (IKCONFIG)
  std::filesystem::path system_map;  // optional
  std::string name;    // key becomes "import-<name>-<hash8>"; default: the kernel release
  std::string key;     // exact key instead (fetch uses the release)
  std::string source;  // default "import:<absolute image path>"
  std::function<void(std::string_view)> progress;  // optional status lines
};

class KernelCache {
 public:
  explicit KernelCache(std::filesystem::path root = cache_root());
  const std::filesystem::path& root() const { return root_; }

  // Valid entries, newest first (created time, then version). Folders
  // without a readable metadata.json (or starting with '.') are skipped.
  Result<std::vector<KernelEntry>> list() const;
  // not_found when absent.
  Result<KernelEntry> get(std::string_view key) const;
  // Copies the image (and config/System.map) in, extracts BTF once, writes
  // metadata. An existing entry with the same key is returned as is.
  Result<KernelEntry> import(const ImportRequest& req);
  // Removes all but the newest `keep` entries, plus broken folders and stale
  // temp folders; returns the removed entries (broken ones by key only).
  Result<std::vector<KernelEntry>> clean(size_t keep);

 private:
  std::filesystem::path root_;
};

// The config and System.map that sit beside an image: config, .config,
// config-<release>, System.map, System.map-<release>; for a build tree's
// <tree>/arch/x86/boot/bzImage, <tree>/.config and <tree>/System.map.
struct Companions {
  std::filesystem::path config, system_map;  // empty when not found
};
Companions find_companions(const std::filesystem::path& image, std::string_view release);

// Bytes used by an entry's folder.
uint64_t entry_size(const KernelEntry& e);

// Finds the kernel to boot. `spec` may be:
//   absent            -> the newest cached entry
//   a path            -> that image (bzImage), with config/vmlinux.btf beside it if
//                        present (link_text is read from the image), or a cache
//                        entry folder / kernel build tree
//   a cache key       -> that entry
//   a version prefix  -> the newest entry whose version starts with it ("7.2", "6.12.117")
Result<KernelEntry> resolve_kernel(std::optional<std::string> spec);
Result<KernelEntry> resolve_kernel(std::optional<std::string> spec, const KernelCache& cache);

}  // namespace ktstr::kernel
