// resolve_kernel: turn a --kernel argument (or its absence) into an entry.
#include <algorithm>

#include "kernel/cache.h"
#include "kernel/config.h"
#include "kernel/detail/metadata.h"
#include "kernel/image.h"
#include "kernel/version.h"
#include "util/files.h"

namespace ktstr::kernel {

namespace fs = std::filesystem;
using namespace detail;

namespace {

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

fs::path first_existing(const fs::path& dir, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (is_file(dir / n)) return dir / n;
  return {};
}

// A bare image: config and BTF are taken from beside it when present (a
// vmlinux.btf is not extracted here: import the image for that).
Result<KernelEntry> entry_for_image(const fs::path& path) {
  KTSTR_ASSIGN(auto header, read_bzimage_header(path));
  std::error_code ec;
  fs::path image = fs::absolute(path, ec);
  fs::path dir = image.parent_path();
  KernelEntry e;
  e.cached = false;
  e.key = image.filename().string();
  e.dir = dir;
  e.image = image;
  e.version = header.release();
  e.source = "path:" + image.string();
  e.arch = "x86_64";
  Companions c = find_companions(image, e.version);
  e.config = c.config;
  e.system_map = c.system_map;
  e.btf = first_existing(dir, {kBtfFile});
  e.has_btf = !e.btf.empty();
  // Link-time _text (for KASLR offsets): costs one decompression (~0.3 s).
  if (auto v = extract_vmlinux(image); v.ok()) {
    if (auto info = inspect_vmlinux(*v); info.ok()) {
      e.link_text = info->link_text;
      e.arch = info->arch;
    }
  }
  if (!e.config.empty()) {
    if (auto text = read_file_limited(e.config, 16 << 20); text.ok())
      e.sched_ext = KernelConfig::parse(*text).builtin(kSchedExt);
  }
  return e;
}

Result<KernelEntry> entry_for_path(const fs::path& p) {
  std::error_code ec;
  if (fs::is_directory(p, ec)) {
    if (is_file(p / kMetadataFile)) return load_entry(fs::absolute(p, ec));
    fs::path img = first_existing(p, {"arch/x86/boot/bzImage", "bzImage", "vmlinuz"});
    if (img.empty())
      return invalid_argument(p.string() +
                              " is a folder with no kernel image (looked for metadata.json, "
                              "arch/x86/boot/bzImage, bzImage, vmlinuz)");
    return entry_for_image(img);
  }
  if (!fs::exists(p, ec))
    return not_found(p.string() + ": no such file; pass a bzImage path or a cache key");
  return entry_for_image(p);
}

std::string keys_of(const std::vector<KernelEntry>& entries) {
  std::string out;
  for (const auto& e : entries) out += (out.empty() ? "" : ", ") + e.key;
  return out;
}

}  // namespace

Companions find_companions(const fs::path& image, std::string_view release) {
  fs::path dir = image.parent_path();
  if (dir.empty()) dir = ".";
  std::string rel(release);
  std::string config_rel = "config-" + rel, map_rel = "System.map-" + rel;
  Companions c;
  c.config = first_existing(dir, {"config", ".config", config_rel.c_str()});
  c.system_map = first_existing(dir, {"System.map", map_rel.c_str()});
  // Debian ships a one-line stub System.map (the real one is in -dbg).
  std::error_code ec;
  if (!c.system_map.empty() && fs::file_size(c.system_map, ec) < 4096) c.system_map.clear();
  // A kernel build tree: <tree>/arch/x86/boot/bzImage.
  if (dir.filename() == "boot" && dir.parent_path().parent_path().filename() == "arch") {
    fs::path tree = dir.parent_path().parent_path().parent_path();
    if (c.config.empty()) c.config = first_existing(tree, {".config"});
    if (c.system_map.empty()) c.system_map = first_existing(tree, {"System.map"});
  }
  return c;
}

Result<KernelEntry> resolve_kernel(std::optional<std::string> spec, const KernelCache& cache) {
  if (spec && spec->empty()) spec.reset();
  if (spec) {
    bool pathlike = spec->find('/') != std::string::npos || spec->starts_with(".");
    std::error_code ec;
    if (pathlike || (!valid_key(*spec) && fs::exists(*spec, ec))) return entry_for_path(*spec);
    if (auto e = cache.get(*spec); e.ok()) return e;
  }
  KTSTR_ASSIGN(auto entries, cache.list());
  if (!spec) {
    if (entries.empty())
      return not_found("no kernel in the cache (" + cache.root().string() +
                       "); run `ktstr kernel fetch` or pass --kernel PATH");
    return entries.front();
  }
  std::vector<KernelEntry> matches;
  for (const auto& e : entries)
    if (version_has_prefix(e.version, *spec) || version_has_prefix(e.key, *spec))
      matches.push_back(e);
  if (!matches.empty()) {
    std::stable_sort(matches.begin(), matches.end(),
                     [](const KernelEntry& a, const KernelEntry& b) {
                       return compare_versions(a.version, b.version) > 0;
                     });
    return matches.front();
  }
  // Not a key or version: maybe a file in the current directory ("bzImage").
  std::error_code ec;
  if (fs::exists(*spec, ec)) return entry_for_path(*spec);
  if (entries.empty())
    return not_found("no kernel '" + *spec + "' in the cache (" + cache.root().string() +
                     ", which is empty); run `ktstr kernel fetch` or pass --kernel PATH");
  return not_found("no kernel matches '" + *spec + "' in the cache (" + cache.root().string() +
                   " has " + keys_of(entries) + "); see `ktstr kernel list`");
}

Result<KernelEntry> resolve_kernel(std::optional<std::string> spec) {
  return resolve_kernel(std::move(spec), KernelCache());
}

}  // namespace ktstr::kernel
