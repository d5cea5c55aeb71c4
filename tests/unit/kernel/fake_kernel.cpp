#include "fake_kernel.h"

#include <elf.h>
#include <lz4.h>
#include <lz4frame.h>
#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstring>
#include <fstream>
#include <stdexcept>

namespace ktstr::kernel::test {

namespace {

void put(std::vector<uint8_t>& out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}

void put_le32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(uint8_t(v >> (8 * i)));
}

void align(std::vector<uint8_t>& out, size_t a) {
  while (out.size() % a) out.push_back(0);
}

std::vector<uint8_t> gzip(const std::vector<uint8_t>& in) {
  z_stream zs{};
  if (deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::vector<uint8_t> out(deflateBound(&zs, in.size()) + 64);
  zs.next_in = const_cast<Bytef*>(in.data());
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

std::vector<uint8_t> fake_btf(size_t n) {
  // struct btf_header: magic 0xeb9f, version 1, flags 0, hdr_len 24, ...
  std::vector<uint8_t> b = {0x9f, 0xeb, 0x01, 0x00, 24, 0, 0, 0};
  b.resize(24, 0);
  for (size_t i = 0; i < n; ++i) b.push_back(uint8_t(i * 7 + 3));
  return b;
}

std::vector<uint8_t> make_elf(const FakeElf& spec) {
  struct Section {
    std::string name;
    uint32_t type;
    uint64_t flags, addr;
    std::vector<uint8_t> data;
    uint32_t link = 0;
    uint64_t entsize = 0;
    size_t offset = 0;
  };
  std::vector<Section> secs;
  secs.push_back({"", SHT_NULL, 0, 0, {}});
  std::vector<uint8_t> text(spec.text_size, 0x90);  // nops
  secs.push_back({".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, spec.text_addr, text});
  if (!spec.btf.empty())
    secs.push_back({".BTF", SHT_PROGBITS, SHF_ALLOC, spec.text_addr + 0x100000, spec.btf});
  if (!spec.ikconfig.empty()) {
    std::vector<uint8_t> ro;
    put(ro, "junk-before", 11);
    put(ro, "IKCFG_ST", 8);
    auto gz = gzip(std::vector<uint8_t>(spec.ikconfig.begin(), spec.ikconfig.end()));
    put(ro, gz.data(), gz.size());
    put(ro, "IKCFG_ED", 8);
    secs.push_back({".rodata", SHT_PROGBITS, SHF_ALLOC, spec.text_addr + 0x200000, ro});
  }
  if (spec.text_symbol) {
    std::vector<uint8_t> strtab = {0};
    put(strtab, "_stext", 7);
    put(strtab, "_text", 6);
    std::vector<uint8_t> symtab(sizeof(Elf64_Sym), 0);  // null symbol
    Elf64_Sym s{};
    s.st_name = 1;  // _stext: a decoy that must not be taken for _text
    s.st_info = ELF64_ST_INFO(STB_GLOBAL, STT_NOTYPE);
    s.st_shndx = 1;
    s.st_value = spec.text_addr + 0x40;
    put(symtab, &s, sizeof s);
    s.st_name = 8;
    s.st_value = *spec.text_symbol;
    put(symtab, &s, sizeof s);
    uint32_t strtab_index = static_cast<uint32_t>(secs.size() + 1);
    secs.push_back({".symtab", SHT_SYMTAB, 0, 0, symtab, strtab_index, sizeof(Elf64_Sym)});
    secs.push_back({".strtab", SHT_STRTAB, 0, 0, strtab});
  }
  std::vector<uint8_t> shstr = {0};
  std::vector<uint32_t> name_off;
  for (auto& s : secs) {
    name_off.push_back(s.name.empty() ? 0 : static_cast<uint32_t>(shstr.size()));
    if (!s.name.empty()) put(shstr, s.name.c_str(), s.name.size() + 1);
  }
  name_off.push_back(static_cast<uint32_t>(shstr.size()));
  put(shstr, ".shstrtab", 10);
  secs.push_back({".shstrtab", SHT_STRTAB, 0, 0, shstr});

  std::vector<uint8_t> out(sizeof(Elf64_Ehdr), 0);
  for (auto& s : secs) {
    align(out, 16);
    s.offset = out.size();
    put(out, s.data.data(), s.data.size());
  }
  align(out, 8);
  size_t shoff = out.size();
  for (size_t i = 0; i < secs.size(); ++i) {
    Elf64_Shdr sh{};
    sh.sh_name = name_off[i];
    sh.sh_type = secs[i].type;
    sh.sh_flags = secs[i].flags;
    sh.sh_addr = secs[i].addr;
    sh.sh_offset = i ? secs[i].offset : 0;
    sh.sh_size = secs[i].data.size();
    sh.sh_link = secs[i].link;
    sh.sh_addralign = i ? 8 : 0;
    sh.sh_entsize = secs[i].entsize;
    if (secs[i].type == SHT_SYMTAB) sh.sh_info = 1;
    put(out, &sh, sizeof sh);
  }
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_VERSION] = EV_CURRENT;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_X86_64;
  eh.e_version = EV_CURRENT;
  eh.e_entry = spec.text_addr;
  eh.e_shoff = shoff;
  eh.e_ehsize = sizeof(Elf64_Ehdr);
  eh.e_shentsize = sizeof(Elf64_Shdr);
  eh.e_shnum = static_cast<uint16_t>(secs.size());
  eh.e_shstrndx = static_cast<uint16_t>(secs.size() - 1);
  std::memcpy(out.data(), &eh, sizeof eh);
  return out;
}

std::vector<uint8_t> compress(Compression c, const std::vector<uint8_t>& in) {
  std::vector<uint8_t> out;
  switch (c) {
    case Compression::kGzip:
      return gzip(in);
    case Compression::kXz: {
      out.resize(lzma_stream_buffer_bound(in.size()));
      size_t pos = 0;
      // The kernel uses xz --check=crc32 (its decoder has no sha256).
      if (lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr, in.data(), in.size(), out.data(),
                                  &pos, out.size()) != LZMA_OK)
        throw std::runtime_error("lzma");
      out.resize(pos);
      return out;
    }
    case Compression::kZstd: {
      out.resize(ZSTD_compressBound(in.size()));
      size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 19);
      if (ZSTD_isError(n)) throw std::runtime_error("zstd");
      out.resize(n);
      return out;
    }
    case Compression::kLz4Frame: {
      out.resize(LZ4F_compressFrameBound(in.size(), nullptr));
      size_t n = LZ4F_compressFrame(out.data(), out.size(), in.data(), in.size(), nullptr);
      if (LZ4F_isError(n)) throw std::runtime_error("lz4f");
      out.resize(n);
      return out;
    }
    case Compression::kLz4Legacy: {
      // lz4 -l: magic then [le32 size][block]; small blocks to exercise the loop.
      put_le32(out, 0x184C2102);
      constexpr size_t kBlock = 1024;
      for (size_t at = 0; at < in.size(); at += kBlock) {
        int n = static_cast<int>(std::min(kBlock, in.size() - at));
        std::vector<char> blk(LZ4_compressBound(n));
        int got = LZ4_compress_default(reinterpret_cast<const char*>(in.data() + at), blk.data(), n,
                                       static_cast<int>(blk.size()));
        put_le32(out, static_cast<uint32_t>(got));
        put(out, blk.data(), static_cast<size_t>(got));
      }
      return out;
    }
    default:
      throw std::runtime_error("unsupported compression in test");
  }
}

std::vector<uint8_t> make_bzimage(const FakeBzImage& spec) {
  size_t pm = (size_t(spec.setup_sects ? spec.setup_sects : 4) + 1) * 512;
  std::vector<uint8_t> img(pm + spec.payload_offset, 0xcc);
  std::fill(img.begin(), img.begin() + pm, 0);
  img[0x1f1] = spec.setup_sects;
  img[0x1fe] = 0x55;
  img[0x1ff] = 0xaa;
  std::memcpy(&img[0x202], "HdrS", 4);
  img[0x206] = uint8_t(spec.protocol);
  img[0x207] = uint8_t(spec.protocol >> 8);
  // kernel_version: offset from 0x200 to a NUL-terminated string.
  uint16_t vptr = 0x100;
  img[0x20e] = uint8_t(vptr);
  img[0x20f] = uint8_t(vptr >> 8);
  std::memcpy(&img[0x200 + vptr], spec.version.c_str(), spec.version.size() + 1);
  uint32_t length = static_cast<uint32_t>(spec.payload.size() + 4);  // + size trailer
  if (spec.protocol >= 0x0208) {
    for (int i = 0; i < 4; ++i) {
      img[0x248 + i] = uint8_t(spec.payload_offset >> (8 * i));
      img[0x24c + i] = uint8_t(length >> (8 * i));
    }
  }
  put(img, spec.payload.data(), spec.payload.size());
  put_le32(img, spec.uncompressed_size);
  img.resize(img.size() + 512, 0);  // trailing code/padding
  return img;
}

std::vector<uint8_t> make_kernel(const FakeElf& spec, const std::string& version, Compression c) {
  auto elf = make_elf(spec);
  FakeBzImage bz;
  bz.payload = compress(c, elf);
  bz.uncompressed_size = static_cast<uint32_t>(elf.size());
  bz.version = version;
  return make_bzimage(bz);
}

void write_bytes(const std::filesystem::path& p, const std::vector<uint8_t>& data) {
  std::ofstream f(p, std::ios::binary);
  f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

}  // namespace ktstr::kernel::test
