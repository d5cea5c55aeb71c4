// ld.so.conf parsing: the directories ldconfig would put in ld.so.cache.
#include <glob.h>

#include <algorithm>

#include "initramfs/elf_deps.h"
#include "util/files.h"

namespace ktstr::initramfs {

namespace {

constexpr int kMaxIncludeDepth = 8;  // include loops end here

void add_unique(std::vector<std::filesystem::path>& dirs, std::filesystem::path d) {
  if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) {
    dirs.push_back(std::move(d));
  }
}

std::vector<std::string> words(std::string_view line, std::string_view seps) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    size_t b = line.find_first_not_of(seps, i);
    if (b == std::string_view::npos) {
      break;
    }
    size_t e = line.find_first_of(seps, b);
    if (e == std::string_view::npos) {
      e = line.size();
    }
    out.emplace_back(line.substr(b, e - b));
    i = e;
  }
  return out;
}

void parse_conf(const std::filesystem::path& conf, int depth,
                std::vector<std::filesystem::path>& dirs) {
  if (depth > kMaxIncludeDepth) {
    return;
  }
  auto text = read_file_limited(conf, 1 << 20);
  if (!text.ok()) {
    return;  // absent config = no extra dirs, like ldconfig
  }
  for (auto& raw : split(*text, '\n')) {
    std::string_view line = raw;
    if (auto hash = line.find('#'); hash != std::string_view::npos) {
      line = line.substr(0, hash);
    }
    line = trim(line);
    if (line.empty()) {
      continue;
    }
    auto w = words(line, " \t");
    if (w[0] == "include") {
      for (size_t i = 1; i < w.size(); ++i) {
        std::filesystem::path pattern = w[i];
        if (pattern.is_relative()) {
          pattern = conf.parent_path() / pattern;
        }
        glob_t g{};
        if (::glob(pattern.c_str(), 0, nullptr, &g) == 0) {
          for (size_t j = 0; j < g.gl_pathc; ++j) {
            parse_conf(g.gl_pathv[j], depth + 1, dirs);
          }
        }
        ::globfree(&g);
      }
      continue;
    }
    if (w[0] == "hwcap") {
      continue;
    }
    // Directories may be separated by whitespace, ':' or ','; a legacy
    // "=type" suffix is dropped.
    for (auto& d : words(line, " \t:,")) {
      std::string dir = d.substr(0, d.find('='));
      while (dir.size() > 1 && dir.back() == '/') {
        dir.pop_back();
      }
      if (!dir.empty() && dir[0] == '/') {
        add_unique(dirs, dir);
      }
    }
  }
}

}  // namespace

SearchPaths search_paths_from_conf(const std::filesystem::path& ld_so_conf) {
  SearchPaths sp;
  parse_conf(ld_so_conf, 0, sp.conf_dirs);
  sp.default_dirs = {"/lib/x86_64-linux-gnu",
                     "/usr/lib/x86_64-linux-gnu",
                     "/lib64",
                     "/lib",
                     "/usr/lib",
                     "/usr/lib64"};
  return sp;
}

SearchPaths default_search_paths() { return search_paths_from_conf("/etc/ld.so.conf"); }

}  // namespace ktstr::initramfs
