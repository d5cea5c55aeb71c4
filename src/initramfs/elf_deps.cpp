#include "initramfs/elf_deps.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <set>
#include <unordered_set>

#include "util/fd.h"
#include "util/files.h"

namespace ktstr::initramfs {

namespace {

// What the loader needs from one ELF file.
struct ElfInfo {
  bool is_elf = false;
  unsigned char elf_class = 0;
  unsigned machine = 0;
  std::string interp;
  std::vector<std::string> needed;
  std::string soname;
  std::optional<std::string> rpath, runpath;
};

struct ElfEnd {
  void operator()(Elf* e) const { elf_end(e); }
};

Error elf_error(const std::filesystem::path& p, const std::string& what) {
  std::string msg = "malformed ELF " + p.string() + ": " + what;
  if (int e = elf_errno(); e != 0) {
    if (const char* detail = elf_errmsg(e)) msg.append(" (").append(detail).append(")");
  }
  return Error(Errc::kInvalidArgument, std::move(msg));
}

Result<ElfInfo> read_elf(const std::filesystem::path& path) {
  static const bool libelf_ready = elf_version(EV_CURRENT) != EV_NONE;
  if (!libelf_ready) {
    return Error(Errc::kInternal, "libelf version mismatch");
  }

  ElfInfo info;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return io_error("cannot open " + path.string());
  }
  char magic[SELFMAG];
  ssize_t n = ::pread(fd.get(), magic, SELFMAG, 0);
  if (n < 0) {
    return io_error("cannot read " + path.string());
  }
  if (n != SELFMAG || std::memcmp(magic, ELFMAG, SELFMAG) != 0) {
    return info;  // not ELF
  }

  std::unique_ptr<Elf, ElfEnd> elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
    return elf_error(path, "not an ELF object");
  }
  GElf_Ehdr eh;
  if (!gelf_getehdr(elf.get(), &eh)) {
    return elf_error(path, "bad ELF header");
  }
  info.is_elf = true;
  info.elf_class = eh.e_ident[EI_CLASS];
  info.machine = eh.e_machine;

  size_t fsize = 0;
  const char* raw = elf_rawfile(elf.get(), &fsize);
  size_t nph = 0;
  if (!raw || elf_getphdrnum(elf.get(), &nph) != 0) {
    return elf_error(path, "no program headers");
  }

  std::vector<GElf_Phdr> loads;
  std::optional<GElf_Phdr> dynamic;
  for (size_t i = 0; i < nph; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf.get(), static_cast<int>(i), &ph)) {
      return elf_error(path, "bad program header");
    }
    if (ph.p_type == PT_LOAD) {
      loads.push_back(ph);
    }
    if (ph.p_type == PT_DYNAMIC) {
      dynamic = ph;
    }
    if (ph.p_type == PT_INTERP) {
      if (ph.p_offset >= fsize || ph.p_filesz > fsize - ph.p_offset) {
        return elf_error(path, "PT_INTERP outside the file");
      }
      info.interp.assign(raw + ph.p_offset, strnlen(raw + ph.p_offset, ph.p_filesz));
    }
  }
  if (!dynamic) {
    return info;
  }

  // Read the dynamic array from the segment (section headers may be stripped).
  if (dynamic->p_offset >= fsize || dynamic->p_filesz > fsize - dynamic->p_offset) {
    return elf_error(path, "PT_DYNAMIC outside the file");
  }
  Elf_Data* d = elf_getdata_rawchunk(elf.get(), static_cast<int64_t>(dynamic->p_offset),
                                     dynamic->p_filesz, ELF_T_DYN);
  size_t dyn_size = gelf_fsize(elf.get(), ELF_T_DYN, 1, EV_CURRENT);
  if (!d || dyn_size == 0) {
    return elf_error(path, "unreadable dynamic section");
  }
  std::vector<uint64_t> needed_off;
  std::optional<uint64_t> soname_off, rpath_off, runpath_off;
  uint64_t strtab = 0, strsz = 0;
  for (size_t i = 0; i < dynamic->p_filesz / dyn_size; ++i) {
    GElf_Dyn dyn;
    if (!gelf_getdyn(d, static_cast<int>(i), &dyn) || dyn.d_tag == DT_NULL) {
      break;
    }
    switch (dyn.d_tag) {
      case DT_NEEDED:
        needed_off.push_back(dyn.d_un.d_val);
        break;
      case DT_SONAME:
        soname_off = dyn.d_un.d_val;
        break;
      case DT_RPATH:
        rpath_off = dyn.d_un.d_val;
        break;
      case DT_RUNPATH:
        runpath_off = dyn.d_un.d_val;
        break;
      case DT_STRTAB:
        strtab = dyn.d_un.d_ptr;
        break;
      case DT_STRSZ:
        strsz = dyn.d_un.d_val;
        break;
      default:
        break;
    }
  }
  if (needed_off.empty() && !soname_off && !rpath_off && !runpath_off) {
    return info;
  }

  // DT_STRTAB is a virtual address: map it to a file offset through PT_LOAD.
  std::optional<uint64_t> str_file_off;
  for (auto& ph : loads) {
    if (strtab >= ph.p_vaddr && strtab - ph.p_vaddr < ph.p_filesz) {
      str_file_off = strtab - ph.p_vaddr + ph.p_offset;
      break;
    }
  }
  if (!str_file_off || *str_file_off >= fsize) {
    return elf_error(path, "DT_STRTAB not in a segment");
  }
  uint64_t str_end = std::min<uint64_t>(fsize, *str_file_off + strsz);
  auto str_at = [&](uint64_t off) -> Result<std::string> {
    uint64_t start = *str_file_off + off;
    if (off >= strsz || start >= str_end) {
      return elf_error(path, "string offset out of range");
    }
    return std::string(raw + start, strnlen(raw + start, str_end - start));
  };
  for (auto off : needed_off) {
    KTSTR_ASSIGN(auto s, str_at(off));
    info.needed.push_back(std::move(s));
  }
  if (soname_off) {
    KTSTR_ASSIGN(info.soname, str_at(*soname_off));
  }
  if (rpath_off) {
    KTSTR_ASSIGN(info.rpath, str_at(*rpath_off));
  }
  if (runpath_off) {
    KTSTR_ASSIGN(info.runpath, str_at(*runpath_off));
  }
  return info;
}

// Expands $ORIGIN/$LIB/$PLATFORM in a ':'-separated DT_RPATH/DT_RUNPATH.
std::vector<std::filesystem::path> expand_path_list(const std::string& list,
                                                    const std::filesystem::path& origin) {
  std::vector<std::filesystem::path> out;
  const std::pair<const char*, std::string> tokens[] = {
      {"ORIGIN", origin.string()}, {"LIB", "lib/x86_64-linux-gnu"}, {"PLATFORM", "x86_64"}};
  for (auto& item : split(list, ':')) {
    std::string dir;
    for (size_t i = 0; i < item.size();) {
      bool replaced = false;
      if (item[i] == '$') {
        for (auto& [name, value] : tokens) {
          std::string plain = std::string("$") + name, braced = std::string("${") + name + "}";
          if (item.compare(i, braced.size(), braced) == 0) {
            dir += value;
            i += braced.size();
            replaced = true;
          } else if (item.compare(i, plain.size(), plain) == 0 &&
                     (i + plain.size() == item.size() ||
                      !std::isalnum(static_cast<unsigned char>(item[i + plain.size()])))) {
            dir += value;
            i += plain.size();
            replaced = true;
          }
          if (replaced) {
            break;
          }
        }
      }
      if (!replaced) {
        dir += item[i++];
      }
    }
    if (!dir.empty()) {
      out.push_back(std::filesystem::path(dir).lexically_normal());
    }
  }
  return out;
}

// An object whose DT_NEEDED entries are still to be resolved.
struct Pending {
  std::filesystem::path path;
  ElfInfo info;
  // DT_RPATH dirs of this object and its loaders (objects with DT_RUNPATH
  // contribute none), searched first when this object has no DT_RUNPATH.
  std::vector<std::filesystem::path> rpath_chain;
  std::vector<std::filesystem::path> runpath;
};

Pending make_pending(std::filesystem::path path, ElfInfo info, const std::filesystem::path& origin,
                     const std::vector<std::filesystem::path>& loader_chain) {
  Pending p{std::move(path), std::move(info), {}, {}};
  if (p.info.runpath) {
    p.runpath = expand_path_list(*p.info.runpath, origin);
  } else if (p.info.rpath) {
    p.rpath_chain = expand_path_list(*p.info.rpath, origin);
  }
  p.rpath_chain.insert(p.rpath_chain.end(), loader_chain.begin(), loader_chain.end());
  return p;
}

bool is_regular(const std::filesystem::path& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

Result<ElfDeps> elf_dependencies(const std::filesystem::path& binary, const SearchPaths& paths) {
  KTSTR_ASSIGN(ElfInfo info, read_elf(binary));
  ElfDeps deps;
  deps.is_elf = info.is_elf;
  deps.is_dynamic = info.is_elf && (!info.interp.empty() || !info.needed.empty());
  if (!deps.is_dynamic) {
    return deps;
  }

  // Names already satisfied (DT_NEEDED strings and DT_SONAMEs), as ld.so matches them.
  std::unordered_set<std::string> loaded_names;
  std::set<std::filesystem::path> loaded_paths;
  if (!info.interp.empty()) {
    deps.interpreter = info.interp;
    if (!is_regular(deps.interpreter)) {
      return not_found("interpreter " + info.interp + " of " + binary.string() +
                       " not found on the host");
    }
    std::error_code ec;
    deps.interpreter_real = std::filesystem::canonical(deps.interpreter, ec);
    if (ec) {
      return io_error("cannot resolve interpreter " + info.interp);
    }
    KTSTR_ASSIGN(ElfInfo interp, read_elf(deps.interpreter), "interpreter of " + binary.string());
    loaded_names.insert(deps.interpreter.filename().string());
    if (!interp.soname.empty()) {
      loaded_names.insert(interp.soname);
    }
    loaded_paths.insert(deps.interpreter);
  }

  std::error_code ec;
  auto exe_real = std::filesystem::canonical(binary, ec);
  if (ec) {
    return io_error("cannot resolve " + binary.string());
  }
  std::deque<Pending> queue;
  queue.push_back(make_pending(binary, std::move(info), exe_real.parent_path(), {}));

  while (!queue.empty()) {
    Pending obj = std::move(queue.front());
    queue.pop_front();
    for (const auto& name : obj.info.needed) {
      if (loaded_names.count(name)) {
        continue;
      }
      std::vector<std::filesystem::path> dirs;
      if (!obj.info.runpath) {
        dirs = obj.rpath_chain;
      }
      using Dirs = std::vector<std::filesystem::path>;
      for (const Dirs* list :
           {&std::as_const(obj.runpath), &paths.conf_dirs, &paths.default_dirs}) {
        for (auto& d : *list) {
          if (std::find(dirs.begin(), dirs.end(), d) == dirs.end()) {
            dirs.push_back(d);
          }
        }
      }
      if (name.find('/') != std::string::npos) {
        dirs = {""};  // a path: no search
      }

      std::optional<std::filesystem::path> found;
      std::optional<ElfInfo> found_info;
      for (auto& dir : dirs) {
        std::filesystem::path cand = dir.empty() ? std::filesystem::path(name) : dir / name;
        if (!is_regular(cand)) {
          continue;
        }
        auto ci = read_elf(cand);
        // Wrong class/machine or unreadable: ld.so skips it and keeps searching.
        if (!ci.ok() || !ci->is_elf || ci->elf_class != obj.info.elf_class ||
            ci->machine != obj.info.machine) {
          continue;
        }
        found = cand.lexically_normal();
        found_info = std::move(ci).value();
        break;
      }
      if (!found && dirs.size() == 1 && dirs[0].empty()) {
        return not_found(name + " needed by " + obj.path.string() + " does not exist");
      }
      if (!found) {
        std::string where;
        for (auto& d : dirs) {
          where += (where.empty() ? "" : ", ") + d.string();
        }
        return not_found(name + " needed by " + obj.path.string() + " not found in " + where +
                         "; install it or add its directory to /etc/ld.so.conf");
      }
      loaded_names.insert(name);
      if (!found_info->soname.empty()) {
        loaded_names.insert(found_info->soname);
      }
      if (!loaded_paths.insert(*found).second) {
        continue;
      }
      auto real = std::filesystem::canonical(*found, ec);
      if (ec) {
        return io_error("cannot resolve " + found->string());
      }
      deps.libraries.push_back(SharedLib{name, *found, real});
      queue.push_back(
          make_pending(*found, std::move(*found_info), found->parent_path(), obj.rpath_chain));
    }
  }
  return deps;
}

}  // namespace ktstr::initramfs
