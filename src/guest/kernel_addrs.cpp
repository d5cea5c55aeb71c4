#include "guest/kernel_addrs.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <vector>

#include "util/fd.h"
#include "util/files.h"

namespace ktstr::guest {

namespace {

std::optional<uint64_t> parse_hex(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.size() > 16) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, 16);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Splits on runs of spaces/tabs.
std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t b = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > b) out.push_back(line.substr(b, i - b));
  }
  return out;
}

template <typename F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    if (!f(line)) return;
    if (nl == std::string_view::npos) return;
    text.remove_prefix(nl + 1);
  }
}

bool pread_all(int fd, void* buf, size_t n, uint64_t off) {
  auto* p = static_cast<uint8_t*>(buf);
  while (n > 0) {
    ssize_t r = ::pread(fd, p, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return true;
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::optional<uint64_t> find_kallsyms_symbol(std::string_view kallsyms, std::string_view symbol) {
  std::optional<uint64_t> found;
  for_each_line(kallsyms, [&](std::string_view line) {
    // "<hex addr> <type> <name>[\t[module]]"; module symbols are never wanted here.
    auto f = fields(line);
    if (f.size() != 3 || f[1].size() != 1 || f[2] != symbol) return true;
    auto addr = parse_hex(f[0]);
    if (!addr) return true;
    if (*addr != 0) found = addr;
    return false;
  });
  return found;
}

std::optional<uint64_t> find_iomem_kernel_code(std::string_view iomem) {
  std::optional<uint64_t> found;
  for_each_line(iomem, [&](std::string_view line) {
    // "  01000000-01ffffff : Kernel code"
    auto colon = line.find(" : ");
    if (colon == std::string_view::npos) return true;
    auto name = trim(line.substr(colon + 3));
    if (name != "Kernel code") return true;
    auto range = trim(line.substr(0, colon));
    auto dash = range.find('-');
    if (dash == std::string_view::npos) return true;
    auto start = parse_hex(range.substr(0, dash));
    auto end = parse_hex(range.substr(dash + 1));
    if (!start || !end || *end < *start) return true;
    if (*start != 0) found = start;
    return false;
  });
  return found;
}

std::optional<uint64_t> compute_phys_base(uint64_t kernel_code_phys, uint64_t runtime_text) {
  if (runtime_text < kStartKernelMap) return std::nullopt;
  // Unsigned wrap-around is intended: phys_base may be "negative" in
  // principle, and the host adds it back with the same modular arithmetic.
  return kernel_code_phys - (runtime_text - kStartKernelMap);
}

Result<uint64_t> read_kcore_u64(const std::filesystem::path& kcore, uint64_t vaddr) {
  UniqueFd fd(::open(kcore.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return io_error("cannot open " + kcore.string());
  Elf64_Ehdr eh;
  if (!pread_all(fd.get(), &eh, sizeof eh, 0))
    return io_error("cannot read ELF header of " + kcore.string());
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr))
    return protocol_error(kcore.string() + " is not a 64-bit ELF core file");
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!pread_all(fd.get(), &ph, sizeof ph, eh.e_phoff + uint64_t{i} * sizeof ph))
      return io_error("cannot read program header of " + kcore.string());
    if (ph.p_type != PT_LOAD || vaddr < ph.p_vaddr || vaddr - ph.p_vaddr > ph.p_filesz ||
        ph.p_filesz - (vaddr - ph.p_vaddr) < 8)
      continue;
    uint64_t value;
    if (!pread_all(fd.get(), &value, sizeof value, ph.p_offset + (vaddr - ph.p_vaddr)))
      return io_error("cannot read " + hex(vaddr) + " from " + kcore.string());
    return value;  // x86-64 is little-endian, like the file
  }
  return not_found(hex(vaddr) + " is not mapped in " + kcore.string());
}

std::optional<KernAddrs> kern_addrs_from_kcore(const std::filesystem::path& kcore) {
  UniqueFd fd(::open(kcore.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  Elf64_Ehdr eh;
  if (!pread_all(fd.get(), &eh, sizeof eh, 0) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr))
    return std::nullopt;
  // fs/proc/kcore.c: the KCORE_TEXT segment starts at _text with p_paddr =
  // __pa_symbol(_text); KCORE_RAM segments are direct-map ranges with
  // p_paddr = __pa(vaddr); every other segment has p_paddr = -1.
  constexpr uint64_t kNoPhys = ~uint64_t{0};
  KernAddrs out;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!pread_all(fd.get(), &ph, sizeof ph, eh.e_phoff + uint64_t{i} * sizeof ph)) return std::nullopt;
    if (ph.p_type != PT_LOAD || ph.p_paddr == kNoPhys) continue;
    if (ph.p_vaddr >= kStartKernelMap) {
      if (!out.kernel_text) {
        out.kernel_text = ph.p_vaddr;
        out.phys_base = compute_phys_base(ph.p_paddr, ph.p_vaddr);
      }
    } else if (!out.page_offset_base && ph.p_vaddr >= ph.p_paddr) {
      out.page_offset_base = ph.p_vaddr - ph.p_paddr;
    }
  }
  if (!out.kernel_text || !out.phys_base || !out.page_offset_base) return std::nullopt;
  return out;
}

KernAddrs collect_kern_addrs(const std::filesystem::path& proc_root) {
  // /proc/kcore's program headers hold all three values; formatting the
  // whole of /proc/kallsyms (~9 MB) costs about a second under TCG.
  if (auto fast = kern_addrs_from_kcore(proc_root / "kcore")) return *fast;
  KernAddrs out;
  auto note = [&](const std::string& s) {
    if (!out.notes.empty()) out.notes += "; ";
    out.notes += s;
  };
  auto kallsyms = read_file(proc_root / "kallsyms");
  if (!kallsyms.ok()) {
    note(kallsyms.error().message());
    return out;
  }
  out.kernel_text = find_kallsyms_symbol(*kallsyms, "_text");
  if (!out.kernel_text) note("_text not in kallsyms (kptr_restrict?)");

  auto iomem = read_file(proc_root / "iomem");
  if (!iomem.ok()) {
    note(iomem.error().message());
  } else if (auto code = find_iomem_kernel_code(*iomem); !code) {
    note("no \"Kernel code\" in iomem");
  } else if (out.kernel_text) {
    out.phys_base = compute_phys_base(*code, *out.kernel_text);
    if (!out.phys_base) note("_text " + hex(*out.kernel_text) + " is below __START_KERNEL_map");
  }

  if (auto sym = find_kallsyms_symbol(*kallsyms, "page_offset_base"); !sym) {
    note("page_offset_base not in kallsyms");
  } else if (auto v = read_kcore_u64(proc_root / "kcore", *sym); !v.ok()) {
    note("page_offset_base: " + v.error().message());
  } else {
    out.page_offset_base = *v;
  }
  return out;
}

}  // namespace ktstr::guest
