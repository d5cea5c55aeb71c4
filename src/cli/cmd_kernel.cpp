// `ktstr kernel ...`: manage the cache of bootable kernels.
//   fetch [--suite S] [--flavour F] [VERSION]   from Debian's mirror
//   import PATH [--name N]                      a bzImage (+ config/System.map beside it)
//   list [--json]                               newest first
//   info [SPEC] [--json]                        one entry and its config check
//   clean [--keep N]                            remove all but the newest N
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "kernel/cache.h"
#include "kernel/config.h"
#include "kernel/fetch.h"
#include "kernel/image.h"
#include "util/files.h"

namespace ktstr::cli {

namespace {

namespace fs = std::filesystem;
using kernel::KernelEntry;

void progress(std::string_view line) {
  std::fprintf(stderr, "%.*s\n", int(line.size()), line.data());
}

std::string human_size(uint64_t bytes) {
  if (bytes >= (uint64_t(1) << 30)) return fmt::format("{:.1f}G", double(bytes) / (1 << 30));
  if (bytes >= (uint64_t(1) << 20)) return fmt::format("{:.1f}M", double(bytes) / (1 << 20));
  if (bytes >= 1024) return fmt::format("{:.1f}K", double(bytes) / 1024);
  return fmt::format("{}B", bytes);
}

uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  auto n = p.empty() ? 0 : fs::file_size(p, ec);
  return ec ? 0 : n;
}

nlohmann::json to_json(const KernelEntry& e) {
  auto path_or_null = [](const fs::path& p) {
    return p.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.string());
  };
  return {
      {"key", e.key},
      {"version", e.version},
      {"source", e.source},
      {"arch", e.arch},
      {"sched_ext", e.sched_ext},
      {"btf", e.has_btf},
      {"link_text",
       e.link_text ? nlohmann::json(fmt::format("{:#x}", *e.link_text)) : nlohmann::json(nullptr)},
      {"config_hash",
       e.config_hash.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.config_hash)},
      {"created", e.created},
      {"cached", e.cached},
      {"dir", e.dir.string()},
      {"image", e.image.string()},
      {"config", path_or_null(e.config)},
      {"system_map", path_or_null(e.system_map)},
      {"btf_file", path_or_null(e.btf)},
      {"size", e.cached ? kernel::entry_size(e) : size_of(e.image)},
  };
}

void print_entry(const KernelEntry& e) {
  fmt::print("key:        {}\n", e.key);
  fmt::print("version:    {}\n", e.version);
  fmt::print("source:     {}\n", e.source);
  fmt::print("arch:       {}\n", e.arch);
  fmt::print("image:      {} ({})\n", e.image.string(), human_size(size_of(e.image)));
  fmt::print("config:     {}\n", e.config.empty() ? "(none)" : e.config.string());
  fmt::print("System.map: {}\n", e.system_map.empty() ? "(none)" : e.system_map.string());
  fmt::print(
      "btf:        {}\n",
      e.has_btf ? fmt::format("{} ({})", e.btf.string(), human_size(size_of(e.btf))) : "(none)");
  fmt::print("link _text: {}\n", e.link_text ? fmt::format("{:#x}", *e.link_text) : "(unknown)");
  fmt::print("sched_ext:  {}\n", e.sched_ext ? "yes" : "no");
  if (!e.created.empty()) fmt::print("created:    {}\n", e.created);
}

Result<int> run_list(bool json) {
  kernel::KernelCache cache;
  KTSTR_ASSIGN(auto entries, cache.list(), "listing the kernel cache");
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : entries) arr.push_back(to_json(e));
    fmt::print("{}\n", arr.dump(2));
    return 0;
  }
  if (entries.empty()) {
    fmt::print("no kernels in {}; run `ktstr kernel fetch` or `ktstr kernel import PATH`\n",
               cache.root().string());
    return 0;
  }
  size_t kw = 3, vw = 7, sw = 6;
  for (const auto& e : entries) {
    kw = std::max(kw, e.key.size());
    vw = std::max(vw, e.version.size());
    sw = std::max(sw, e.source.size());
  }
  fmt::print("{:<{}}  {:<{}}  {:<{}}  {:<9}  {:<3}  {:>7}  {}\n", "KEY", kw, "VERSION", vw,
             "SOURCE", sw, "SCHED_EXT", "BTF", "SIZE", "CREATED");
  for (const auto& e : entries)
    fmt::print("{:<{}}  {:<{}}  {:<{}}  {:<9}  {:<3}  {:>7}  {}\n", e.key, kw, e.version, vw,
               e.source, sw, e.sched_ext ? "yes" : "no", e.has_btf ? "yes" : "no",
               human_size(kernel::entry_size(e)), e.created);
  return 0;
}

Result<int> run_info(const std::string& spec, bool json) {
  std::optional<std::string> s;
  if (!spec.empty()) s = spec;
  KTSTR_ASSIGN(auto e, kernel::resolve_kernel(s));
  std::optional<kernel::ConfigCheck> check;
  if (!e.config.empty()) {
    KTSTR_ASSIGN(auto text, read_file(e.config), "reading kernel config");
    check = kernel::check_config(kernel::KernelConfig::parse(text));
  }
  if (json) {
    auto j = to_json(e);
    if (check) j["config_warnings"] = check->warnings;
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  print_entry(e);
  if (check)
    for (const auto& w : check->warnings) fmt::print("warning:    {}\n", w);
  return 0;
}

Result<int> run_import(const std::string& path, const std::string& name, const std::string& config,
                       const std::string& system_map) {
  KTSTR_ASSIGN(auto header, kernel::read_bzimage_header(path));
  kernel::ImportRequest req;
  req.image = path;
  req.name = name;
  auto companions = kernel::find_companions(path, header.release());
  req.config = config.empty() ? companions.config : fs::path(config);
  req.system_map = system_map.empty() ? companions.system_map : fs::path(system_map);
  if (!req.config.empty()) progress("config: " + req.config.string());
  if (!req.system_map.empty()) progress("System.map: " + req.system_map.string());
  req.progress = progress;
  kernel::KernelCache cache;
  KTSTR_ASSIGN(auto e, cache.import(req), "importing " + path);
  print_entry(e);
  return 0;
}

Result<int> run_fetch(const kernel::FetchOptions& opts) {
  auto start = std::chrono::steady_clock::now();
  KTSTR_ASSIGN(auto e, kernel::fetch_debian_kernel(opts), "fetching a kernel from Debian");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  print_entry(e);
  progress(fmt::format("done in {:.1f}s", secs));
  return 0;
}

Result<int> run_clean(size_t keep) {
  kernel::KernelCache cache;
  KTSTR_ASSIGN(auto removed, cache.clean(keep), "cleaning the kernel cache");
  for (const auto& e : removed) fmt::print("removed {}\n", e.key);
  fmt::print("{} removed from {}\n", removed.size(), cache.root().string());
  return 0;
}

}  // namespace

void add_kernel_command(CLI::App& app, Runner& run) {
  auto* k = app.add_subcommand("kernel", "Manage the cache of bootable kernels");
  k->require_subcommand(1);

  struct Args {
    bool json = false;
    std::string spec, path, name, config, system_map, version;
    size_t keep = 0;
    kernel::FetchOptions fetch;
  };
  auto a = std::make_shared<Args>();

  auto* fetch = k->add_subcommand(
      "fetch", "Download the newest Debian kernel (with sched_ext) into the cache");
  fetch->add_option("--suite", a->fetch.suite, "Debian suite: sid, trixie, forky, ...")
      ->capture_default_str();
  fetch->add_option("--flavour", a->fetch.flavour, "cloud, generic (plain amd64) or rt")
      ->capture_default_str();
  fetch->add_option("--mirror", a->fetch.mirror, "Debian mirror URI (default: this machine's)");
  fetch->add_option("VERSION", a->version,
                    "kernel version prefix (7.2, 7.2.13+deb14) or package version");
  fetch->callback([a, &run] {
    run = [a]() -> Result<int> {
      if (!a->version.empty()) a->fetch.version = a->version;
      a->fetch.progress = progress;
      return run_fetch(a->fetch);
    };
  });

  auto* imp = k->add_subcommand("import",
                                "Copy a bzImage (and config/System.map beside it) into the cache");
  imp->add_option("PATH", a->path, "the bzImage")->required();
  imp->add_option("--name", a->name, "name in the key import-<name>-<hash>");
  imp->add_option("--config", a->config, "kernel .config (default: beside the image, or IKCONFIG)");
  imp->add_option("--system-map", a->system_map, "System.map (default: beside the image)");
  imp->callback(
      [a, &run] { run = [a] { return run_import(a->path, a->name, a->config, a->system_map); }; });

  auto* list = k->add_subcommand("list", "List cached kernels, newest first");
  list->add_flag("--json", a->json, "print JSON");
  list->callback([a, &run] { run = [a] { return run_list(a->json); }; });

  auto* info =
      k->add_subcommand("info", "Show one kernel (default: the newest) and check its config");
  info->add_option("SPEC", a->spec, "cache key, version prefix or image path");
  info->add_flag("--json", a->json, "print JSON");
  info->callback([a, &run] { run = [a] { return run_info(a->spec, a->json); }; });

  auto* clean = k->add_subcommand("clean", "Remove cached kernels");
  clean->add_option("--keep", a->keep, "keep the newest N")->capture_default_str();
  clean->callback([a, &run] { run = [a] { return run_clean(a->keep); }; });
}

}  // namespace ktstr::cli
