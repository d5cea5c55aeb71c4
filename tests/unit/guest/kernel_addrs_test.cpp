#include "guest/kernel_addrs.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::guest {
namespace {

constexpr std::string_view kKallsyms =
    "0000000000000000 A fixed_percpu_data\n"
    "garbage line without fields\n"
    "ffffffffzz000000 T _text\n"        // not hex: skipped
    "ffffffff9a000000 T _text extra\n"  // too many fields: skipped
    "ffffffff9a000000 TT _text\n"       // type is one letter: skipped
    "ffffffff9a000000 T _textual\n"     // different name
    "ffffffff9a000000 T _text\n"
    "ffffffff9a000000 T _stext\n"
    "ffffffff9c2a1d30 D page_offset_base\n"
    "ffffffffc0a01000 t helper\t[some_module]\n"
    "ffffffff9b000000 T _text";  // a later duplicate is ignored

TEST(Kallsyms, FindsSymbols) {
  EXPECT_EQ(find_kallsyms_symbol(kKallsyms, "_text"), 0xffffffff9a000000ull);
  EXPECT_EQ(find_kallsyms_symbol(kKallsyms, "page_offset_base"), 0xffffffff9c2a1d30ull);
  EXPECT_EQ(find_kallsyms_symbol(kKallsyms, "_stext"), 0xffffffff9a000000ull);
}

TEST(Kallsyms, MissingHiddenAndModuleSymbols) {
  EXPECT_FALSE(find_kallsyms_symbol(kKallsyms, "nope"));
  EXPECT_FALSE(find_kallsyms_symbol(kKallsyms, "helper"));  // module symbols have 4 fields
  // kptr_restrict shows every address as zeros: that is "unknown", not 0.
  EXPECT_FALSE(find_kallsyms_symbol("0000000000000000 T _text\n", "_text"));
  EXPECT_FALSE(find_kallsyms_symbol("", "_text"));
  EXPECT_FALSE(find_kallsyms_symbol("12345678901234567 T _text\n", "_text"));  // 17 digits
}

constexpr std::string_view kIomem =
    "00000000-00000fff : Reserved\n"
    "00001000-0009fbff : System RAM\n"
    "000f0000-000fffff : System ROM\n"
    "00100000-1ffdffff : System RAM\n"
    "  bogus line\n"
    "  zz000000-1000000 : Kernel code\n"
    "  1a600000-1b7fffff : Kernel code\n"
    "  1b800000-1c0fffff : Kernel rodata\n"
    "  1c200000-1c5fffff : Kernel data\n"
    "fd000000-fdffffff : 0000:00:02.0\n";

TEST(Iomem, FindsKernelCode) { EXPECT_EQ(find_iomem_kernel_code(kIomem), 0x1a600000ull); }

TEST(Iomem, MissingOrHidden) {
  EXPECT_FALSE(find_iomem_kernel_code("00100000-1ffdffff : System RAM\n"));
  EXPECT_FALSE(find_iomem_kernel_code("  00000000-00000000 : Kernel code\n"));  // non-root view
  EXPECT_FALSE(find_iomem_kernel_code("  1b000000-1a000000 : Kernel code\n"));  // end < start
  EXPECT_FALSE(find_iomem_kernel_code(""));
}

TEST(PhysBase, Formula) {
  // No KASLR: _text at its link address 0xffffffff81000000, loaded at 16 MiB.
  EXPECT_EQ(compute_phys_base(0x1000000, 0xffffffff81000000ull), 0u);
  // Virtual and physical offsets differ: phys_base is their difference.
  EXPECT_EQ(compute_phys_base(0x1a600000, 0xffffffff9a000000ull), 0x1a600000ull - 0x1a000000ull);
  // Physical below virtual offset: wraps like the kernel's unsigned long.
  EXPECT_EQ(compute_phys_base(0x1000000, 0xffffffff82000000ull), uint64_t(0) - 0x1000000ull);
  EXPECT_FALSE(compute_phys_base(0x1000000, 0xffff888000000000ull));
}

// A minimal ELF core: one PT_LOAD mapping [vaddr, vaddr+size) to file data.
std::string fake_core(uint64_t vaddr, const std::vector<uint8_t>& data) {
  Elf64_Ehdr eh{};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_type = ET_CORE;
  eh.e_phoff = sizeof eh;
  eh.e_phentsize = sizeof(Elf64_Phdr);
  eh.e_phnum = 2;
  Elf64_Phdr note{};
  note.p_type = PT_NOTE;
  Elf64_Phdr load{};
  load.p_type = PT_LOAD;
  load.p_offset = sizeof eh + 2 * sizeof(Elf64_Phdr);
  load.p_vaddr = vaddr;
  load.p_filesz = load.p_memsz = data.size();
  std::string out(reinterpret_cast<const char*>(&eh), sizeof eh);
  out.append(reinterpret_cast<const char*>(&note), sizeof note);
  out.append(reinterpret_cast<const char*>(&load), sizeof load);
  out.append(reinterpret_cast<const char*>(data.data()), data.size());
  return out;
}

TEST(Kcore, ReadsU64AtVirtualAddress) {
  auto dir = TempDir::create("ktstr-kcore-");
  ASSERT_TRUE(dir.ok());
  std::vector<uint8_t> data(32);
  const uint64_t value = 0xffff9e4580000000ull;
  std::memcpy(data.data() + 16, &value, 8);
  auto core = dir->path() / "kcore";
  ASSERT_TRUE(write_file(core, fake_core(0xffffffff9c000000ull, data)).ok());

  auto v = read_kcore_u64(core, 0xffffffff9c000010ull);
  ASSERT_TRUE(v.ok()) << v.error().message();
  EXPECT_EQ(*v, value);
  EXPECT_TRUE(read_kcore_u64(core, 0xffffffff9c000018ull).ok());   // last full u64
  EXPECT_FALSE(read_kcore_u64(core, 0xffffffff9c000019ull).ok());  // runs past the end
  EXPECT_FALSE(read_kcore_u64(core, 0xffffffff9bfffff8ull).ok());  // before the segment
  EXPECT_FALSE(read_kcore_u64(dir->path() / "missing", 0).ok());

  auto not_elf = dir->path() / "not_elf";
  ASSERT_TRUE(write_file(not_elf, std::string(128, 'x')).ok());
  EXPECT_EQ(read_kcore_u64(not_elf, 0).error().code(), Errc::kProtocol);
}

TEST(CollectKernAddrs, FromFakeProc) {
  auto dir = TempDir::create("ktstr-proc-");
  ASSERT_TRUE(dir.ok());
  const auto& proc = dir->path();
  ASSERT_TRUE(write_file(proc / "kallsyms",
                         "ffffffff9a000000 T _text\nffffffff9c000010 D page_offset_base\n")
                  .ok());
  ASSERT_TRUE(write_file(proc / "iomem", "  1a600000-1b7fffff : Kernel code\n").ok());
  std::vector<uint8_t> data(32);
  const uint64_t pob = 0xffff9e4580000000ull;
  std::memcpy(data.data() + 16, &pob, 8);
  ASSERT_TRUE(write_file(proc / "kcore", fake_core(0xffffffff9c000000ull, data)).ok());

  auto a = collect_kern_addrs(proc);
  EXPECT_EQ(a.kernel_text, 0xffffffff9a000000ull);
  EXPECT_EQ(a.phys_base, 0x600000ull);
  EXPECT_EQ(a.page_offset_base, pob);
  EXPECT_EQ(a.notes, "");
}

TEST(CollectKernAddrs, ReportsWhatIsMissing) {
  auto dir = TempDir::create("ktstr-proc-");
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(write_file(dir->path() / "kallsyms", "0000000000000000 T _text\n").ok());
  auto a = collect_kern_addrs(dir->path());
  EXPECT_FALSE(a.kernel_text);
  EXPECT_FALSE(a.phys_base);
  EXPECT_FALSE(a.page_offset_base);
  EXPECT_NE(a.notes.find("_text not in kallsyms"), std::string::npos) << a.notes;
  EXPECT_NE(a.notes.find("iomem"), std::string::npos) << a.notes;
  EXPECT_NE(a.notes.find("page_offset_base"), std::string::npos) << a.notes;
}

}  // namespace
}  // namespace ktstr::guest
