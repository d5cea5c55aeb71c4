#include "kernel/image.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string_view>

#include "kernel/decompress.h"
#include "util/fd.h"
#include "util/files.h"

namespace ktstr::kernel {

namespace {

constexpr size_t kMaxVmlinux = size_t(1) << 30;  // 1 GiB: far above any real vmlinux
constexpr size_t kHeaderBytes = 0x10200;  // the version string may sit up to 0xffff past 0x200
constexpr uint16_t kBtfMagic = 0xeb9f;

uint16_t le16(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t le32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

bool is_elf(std::span<const uint8_t> d) {
  return d.size() >= 4 && std::memcmp(d.data(),
                                      "\x7f"
                                      "ELF",
                                      4) == 0;
}

// Tries to decompress an ELF from `payload`; `hint` is the expected size.
Result<std::vector<uint8_t>> decompress_elf(std::span<const uint8_t> payload, size_t hint) {
  auto c = detect_compression(payload);
  if (!c) return protocol_error("payload has no known compression magic");
  KTSTR_ASSIGN(auto out, decompress(*c, payload, kMaxVmlinux, hint),
               std::string(compression_name(*c)) + " payload");
  if (!is_elf(out))
    return protocol_error(std::string(compression_name(*c)) +
                          " payload does not decompress to an ELF vmlinux");
  return out;
}

// The kernel appends the decompressed size (le32) to the compressed data.
size_t trailer_hint(std::span<const uint8_t> payload) {
  if (payload.size() < 4) return 0;
  size_t n = le32(payload.data() + payload.size() - 4);
  return n <= kMaxVmlinux ? n : 0;
}

void init_libelf() {
  static std::once_flag once;
  std::call_once(once, [] { elf_version(EV_CURRENT); });
}

std::string elf_err(const char* what) { return std::string(what) + ": " + elf_errmsg(-1); }

}  // namespace

std::string BzImageHeader::release() const { return version.substr(0, version.find(' ')); }

Result<BzImageHeader> parse_bzimage_header(std::span<const uint8_t> d) {
  if (d.size() < 0x250 || d[0x1fe] != 0x55 || d[0x1ff] != 0xaa ||
      std::memcmp(d.data() + 0x202, "HdrS", 4) != 0)
    return invalid_argument("no bzImage header");
  BzImageHeader h;
  h.setup_sects = d[0x1f1];
  h.protocol = le16(d.data() + 0x206);
  if (h.protocol >= 0x0208) {
    h.payload_offset = le32(d.data() + 0x248);
    h.payload_length = le32(d.data() + 0x24c);
  }
  uint16_t vptr = le16(d.data() + 0x20e);
  if (vptr != 0) {
    size_t at = size_t(vptr) + 0x200;
    if (at < d.size()) {
      const char* s = reinterpret_cast<const char*>(d.data() + at);
      size_t n = strnlen(s, std::min<size_t>(d.size() - at, 512));
      h.version.assign(s, n);
    }
  }
  return h;
}

bool looks_like_bzimage(const std::filesystem::path& path) {
  auto head = read_file_limited(path, kHeaderBytes);
  if (!head.ok()) return false;
  return parse_bzimage_header({reinterpret_cast<const uint8_t*>(head->data()), head->size()}).ok();
}

Result<BzImageHeader> read_bzimage_header(const std::filesystem::path& path) {
  KTSTR_ASSIGN(auto head, read_file_limited(path, kHeaderBytes));
  auto h = parse_bzimage_header({reinterpret_cast<const uint8_t*>(head.data()), head.size()});
  if (!h.ok())
    return invalid_argument(path.string() + " is not a Linux kernel image (no bzImage header)");
  return h;
}

Result<std::vector<uint8_t>> extract_vmlinux(std::span<const uint8_t> image) {
  KTSTR_ASSIGN(auto h, parse_bzimage_header(image));
  size_t pm = h.protected_mode_offset();
  // Boot protocol >= 2.08 says exactly where the payload is.
  if (h.payload_length != 0 && pm + h.payload_offset < image.size() &&
      h.payload_length <= image.size() - pm - h.payload_offset) {
    auto payload = image.subspan(pm + h.payload_offset, h.payload_length);
    auto c = detect_compression(payload);
    if (c && !(*c == Compression::kGzip || *c == Compression::kXz || *c == Compression::kZstd ||
               *c == Compression::kLz4Frame || *c == Compression::kLz4Legacy))
      return unavailable(std::string(compression_name(*c)) +
                         " kernel payloads are not supported; rebuild with CONFIG_KERNEL_ZSTD=y "
                         "(or XZ, GZIP, LZ4)");
    auto r = decompress_elf(payload, trailer_hint(payload));
    if (r.ok()) return r;
  }
  // Otherwise scan for a compression magic, as scripts/extract-vmlinux does.
  static constexpr std::string_view kMagics[] = {{"\x1f\x8b\x08", 3},
                                                 {"\xfd"
                                                  "7zXZ\x00",
                                                  6},
                                                 {"\x28\xb5\x2f\xfd", 4},
                                                 {"\x02\x21\x4c\x18", 4},
                                                 {"\x04\x22\x4d\x18", 4}};
  std::string_view all(reinterpret_cast<const char*>(image.data()), image.size());
  std::vector<size_t> offsets;
  for (auto m : kMagics)
    for (size_t at = all.find(m, std::min(pm, all.size())); at != std::string_view::npos;
         at = all.find(m, at + 1))
      offsets.push_back(at);
  std::sort(offsets.begin(), offsets.end());
  std::string last_error = "no compressed payload found";
  if (offsets.size() > 64) offsets.resize(64);  // bound the work on a hostile file
  for (size_t at : offsets) {
    auto r = decompress_elf(image.subspan(at), 0);
    if (r.ok()) return r;
    last_error = r.error().message();
  }
  return protocol_error("cannot extract vmlinux from the bzImage: " + last_error);
}

Result<std::vector<uint8_t>> extract_vmlinux(const std::filesystem::path& bzimage) {
  KTSTR_ASSIGN(auto data, read_file_limited(bzimage, size_t(512) << 20), "reading kernel image");
  auto r = extract_vmlinux({reinterpret_cast<const uint8_t*>(data.data()), data.size()});
  if (!r.ok()) {
    if (r.error().message() == "no bzImage header")
      return invalid_argument(bzimage.string() +
                              " is not a Linux kernel image (no bzImage header)");
    return std::move(r).error().context(bzimage.string());
  }
  return r;
}

Result<ElfInfo> inspect_vmlinux(std::span<const uint8_t> d) {
  if (!is_elf(d) || d.size() < EI_NIDENT) return protocol_error("not an ELF file");
  // Only little-endian: libelf would byte-swap a foreign-endian image in place.
  if (d[EI_DATA] != ELFDATA2LSB) return protocol_error("not a little-endian ELF vmlinux");
  init_libelf();
  Elf* elf = elf_memory(const_cast<char*>(reinterpret_cast<const char*>(d.data())), d.size());
  if (!elf) return protocol_error(elf_err("elf_memory"));
  struct Closer {
    Elf* e;
    ~Closer() { elf_end(e); }
  } closer{elf};

  ElfInfo info;
  GElf_Ehdr eh;
  if (!gelf_getehdr(elf, &eh)) return protocol_error(elf_err("reading ELF header"));
  switch (eh.e_machine) {
    case EM_X86_64:
      info.arch = "x86_64";
      break;
    case EM_386:
      info.arch = "i386";
      break;
    case EM_AARCH64:
      info.arch = "aarch64";
      break;
    default:
      info.arch = "machine-" + std::to_string(eh.e_machine);
  }
  size_t shstrndx;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0)
    return protocol_error(elf_err("reading section names"));
  Elf_Scn* symtab = nullptr;
  GElf_Shdr symtab_hdr{};
  for (Elf_Scn* scn = elf_nextscn(elf, nullptr); scn; scn = elf_nextscn(elf, scn)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) return protocol_error(elf_err("reading section header"));
    const char* name = elf_strptr(elf, shstrndx, sh.sh_name);
    if (!name) continue;
    std::string_view n(name);
    if (n == ".text") {
      info.text_section_addr = sh.sh_addr;
    } else if (n == ".BTF" && sh.sh_type != SHT_NOBITS) {
      Elf_Data* data = elf_rawdata(scn, nullptr);
      if (!data || !data->d_buf) return protocol_error(elf_err("reading .BTF"));
      const auto* p = static_cast<const uint8_t*>(data->d_buf);
      if (data->d_size < 4 || le16(p) != kBtfMagic)
        return protocol_error(".BTF section has no BTF magic 0xeb9f");
      info.btf.assign(p, p + data->d_size);
    } else if (sh.sh_type == SHT_SYMTAB) {
      symtab = scn;
      symtab_hdr = sh;
    }
  }
  if (symtab && symtab_hdr.sh_entsize) {
    Elf_Data* data = elf_getdata(symtab, nullptr);
    size_t count = data ? data->d_size / symtab_hdr.sh_entsize : 0;
    for (size_t i = 0; i < count; ++i) {
      GElf_Sym sym;
      if (!gelf_getsym(data, static_cast<int>(i), &sym)) break;
      const char* name = elf_strptr(elf, symtab_hdr.sh_link, sym.st_name);
      if (name && std::strcmp(name, "_text") == 0) {
        info.link_text = sym.st_value;
        info.link_text_from_symbol = true;
        break;
      }
    }
  }
  if (!info.link_text && eh.e_machine == EM_X86_64) info.link_text = info.text_section_addr;
  return info;
}

std::optional<std::string> find_ikconfig(std::span<const uint8_t> vmlinux) {
  std::string_view all(reinterpret_cast<const char*>(vmlinux.data()), vmlinux.size());
  for (size_t at = all.find("IKCFG_ST"); at != std::string_view::npos;
       at = all.find("IKCFG_ST", at + 1)) {
    auto gz = vmlinux.subspan(at + 8);
    if (detect_compression(gz) != Compression::kGzip) continue;
    auto r = decompress(Compression::kGzip, gz, size_t(16) << 20);
    if (r.ok()) return std::string(r->begin(), r->end());
  }
  return std::nullopt;
}

}  // namespace ktstr::kernel
