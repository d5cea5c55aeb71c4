// GuestKernel::attach on a synthetic kernel written to files, the way the
// runner hands over QEMU's shared RAM file and the cache's vmlinux.btf.
#include "monitor/guest_kernel.h"

#include <gtest/gtest.h>

#include <cstring>

#include <fmt/format.h>

#include "monitor/synthetic_kernel.h"
#include "util/files.h"
#include "util/temp_dir.h"

namespace ktstr::monitor {
namespace {

constexpr uint64_t kPgdOff = 0x4000;  // image offset of our init_top_pgt
constexpr uint64_t kPresentRw = 0x3, kHuge = 0x80;

struct Files {
  TempDir dir;
  GuestKernelInputs in;
};

void put_u64(std::string& image, uint64_t at, uint64_t v) { std::memcpy(image.data() + at, &v, 8); }

// The synthetic kernel's RAM and BTF as files; with `page_table`, a 4-level
// init_top_pgt mapping the direct map with one 1 GiB page.
Files write_files(const SyntheticKernel& k, bool page_table, uint32_t nr_cpus) {
  Files f;
  auto dir = TempDir::create("ktstr-monitor-test-");
  EXPECT_TRUE(dir.ok());
  f.dir = std::move(*dir);
  const auto& mem = const_cast<SyntheticKernel&>(k).kernel().memory;
  const uint64_t size = mem.ranges().at(0).size;
  std::string image(size, '\0');
  EXPECT_TRUE(mem.read(0, std::span(reinterpret_cast<uint8_t*>(image.data()), size)).ok());
  std::string syms = k.kallsyms();
  if (page_table) {
    const uint64_t pgd = SyntheticKernel::kPhysBase + kPgdOff, pud = pgd + 0x1000;
    const unsigned index = (SyntheticKernel::kPageOffsetBase >> 39) & 0x1ff;
    put_u64(image, pgd + 8 * index, pud | kPresentRw);
    put_u64(image, pud, 0 | kPresentRw | kHuge);
    syms += fmt::format("{:016x} D init_top_pgt\n", guestmem::kStartKernelMap + kPgdOff);
  }
  EXPECT_TRUE(write_file(f.dir.path() / "ram", image).ok());
  const auto& btf = k.btf_bytes();
  EXPECT_TRUE(write_file(f.dir.path() / "vmlinux.btf",
                         std::string_view(reinterpret_cast<const char*>(btf.data()), btf.size()))
                  .ok());
  f.in.ram = {{.guest_phys = 0, .size = size, .file = f.dir.path() / "ram"}};
  f.in.access = guestmem::Access::kReadOnly;
  f.in.symbols = ksyms::SymbolTable::parse_kallsyms(syms);
  f.in.btf = f.dir.path() / "vmlinux.btf";
  f.in.phys_base = SyntheticKernel::kPhysBase;
  f.in.page_offset_base = SyntheticKernel::kPageOffsetBase;
  f.in.nr_cpus = nr_cpus;
  return f;
}

std::unique_ptr<SyntheticKernel> make() {
  auto k = SyntheticKernel::build({.nr_cpus = 3});
  EXPECT_TRUE(k.ok()) << k.error().message();
  return k.ok() ? std::move(*k) : nullptr;
}

TEST(GuestKernel, AttachFindsThePageTableAndItsDepth) {
  auto k = make();
  ASSERT_TRUE(k);
  k->set_nr_running(1, 5);
  Files f = write_files(*k, true, 3);
  auto g = GuestKernel::attach(std::move(f.in));
  ASSERT_TRUE(g.ok()) << g.error().message();
  EXPECT_TRUE((*g)->notes.empty()) << (*g)->notes.front();
  EXPECT_EQ((*g)->space->layout().pgd_phys, SyntheticKernel::kPhysBase + kPgdOff);
  EXPECT_EQ((*g)->space->layout().paging_levels, 4u);
  const Sample s = (*g)->reader->read(*(*g)->space);
  ASSERT_EQ(s.cpus.size(), 3u);
  EXPECT_EQ(s.cpus[1].nr_running, 5u);
  EXPECT_EQ(s.cpus[1].error, "");
}

TEST(GuestKernel, WithoutPageTableItNotesAndStillReadsTheDirectMap) {
  auto k = make();
  ASSERT_TRUE(k);
  Files f = write_files(*k, false, 0);  // 0 CPUs: read nr_cpu_ids from the guest
  auto g = GuestKernel::attach(std::move(f.in));
  ASSERT_TRUE(g.ok()) << g.error().message();
  ASSERT_FALSE((*g)->notes.empty());
  EXPECT_NE((*g)->notes[0].find("no kernel page table"), std::string::npos) << (*g)->notes[0];
  EXPECT_EQ((*g)->reader->nr_cpus(), 3u);
  EXPECT_EQ((*g)->reader->read(*(*g)->space).cpus[2].nr_running, 1u);
}

TEST(GuestKernel, AttachErrorsNameTheMissingInput) {
  auto k = make();
  ASSERT_TRUE(k);
  Files f = write_files(*k, false, 3);
  GuestKernelInputs no_btf = f.in;
  no_btf.btf = f.dir.path() / "missing.btf";
  auto a = GuestKernel::attach(std::move(no_btf));
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message().find("BTF"), std::string::npos) << a.error().message();

  GuestKernelInputs no_syms = f.in;
  no_syms.symbols = {};
  auto b = GuestKernel::attach(std::move(no_syms));
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message().find("no kernel symbols"), std::string::npos);

  GuestKernelInputs no_ram = f.in;
  no_ram.ram[0].size *= 2;  // past the file's end
  EXPECT_FALSE(GuestKernel::attach(std::move(no_ram)).ok());
}

}  // namespace
}  // namespace ktstr::monitor
