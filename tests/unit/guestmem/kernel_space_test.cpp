#include "guestmem/kernel_space.h"

#include <gtest/gtest.h>

#include <array>

#include "synthetic_ram.h"

namespace ktstr::guestmem {
namespace {

using testing::SyntheticRam;

constexpr uint64_t kRam = 8 << 20;
constexpr uint64_t kTables = 6 << 20;
constexpr uint64_t kPhysBase = 0x200000;  // where the kernel image is loaded
constexpr uint64_t kPageOffset4 = 0xffff888000000000ull;
constexpr uint64_t kPageOffset5 = 0xff11000000000000ull;
constexpr uint64_t kVmalloc4 = 0xffffc90000000000ull;
constexpr uint64_t kVmalloc5 = 0xffa0000000000000ull;

template <typename T>
std::string error_of(const Result<T>& r) {
  return r.ok() ? "ok" : r.error().message();
}
std::string error_of(const Status& s) { return s.ok() ? "ok" : s.error().message(); }

// A guest with 8 MiB of RAM: a kernel image at kPhysBase, 4-level tables
// mapping the direct map with 2 MiB pages (like the kernel does), and two
// vmalloc pages whose physical frames are NOT adjacent.
struct Guest4 {
  SyntheticRam ram{kRam, kTables};
  uint64_t pgd = ram.alloc_table();
  Guest4() {
    for (uint64_t pa = 0; pa < kRam; pa += 2 << 20) ram.map(pgd, 4, kPageOffset4 + pa, pa, 2 << 20);
    ram.map(pgd, 4, kVmalloc4 + 0x1000, 0x9000, 4096);
    ram.map(pgd, 4, kVmalloc4 + 0x2000, 0x3000, 4096);
  }
  KernelLayout layout() const {
    KernelLayout l;
    l.phys_base = kPhysBase;
    l.page_offset_base = kPageOffset4;
    l.pgd_phys = pgd;
    l.paging_levels = 4;
    return l;
  }
};

TEST(PagingLevels, FromPageOffsetBaseAndHalves) {
  EXPECT_EQ(paging_levels_for(kPageOffset4), 4u);
  EXPECT_EQ(paging_levels_for(kPageOffset5), 5u);
  EXPECT_TRUE(is_kernel_half(kStartKernelMap, 4));
  EXPECT_TRUE(is_kernel_half(kPageOffset4, 4));
  EXPECT_FALSE(is_kernel_half(kPageOffset5, 4));
  EXPECT_TRUE(is_kernel_half(kPageOffset5, 5));
  EXPECT_FALSE(is_kernel_half(0x00007fffffffe000ull, 4));
  EXPECT_FALSE(is_kernel_half(0x00ffffffffffe000ull, 5));
  EXPECT_FALSE(is_kernel_half(kStartKernelMap, 3));
}

TEST(KernelSpace, ImageUsesPhysBaseWithoutAWalk) {
  Guest4 g;
  g.ram.put_u64(kPhysBase + 0x1238, 0x1122334455667788ull);
  auto mem = g.ram.memory();
  KernelSpace ks(mem, g.layout());
  EXPECT_EQ(*ks.image_to_phys(kStartKernelMap + 0x1238), kPhysBase + 0x1238);
  EXPECT_EQ(*ks.translate(kStartKernelMap + 0x1238), kPhysBase + 0x1238);
  EXPECT_EQ(*ks.read_u64(kStartKernelMap + 0x1238), 0x1122334455667788ull);
  EXPECT_EQ(*ks.read_u32(kStartKernelMap + 0x123c), 0x11223344u);
  EXPECT_EQ(*ks.read_uint(kStartKernelMap + 0x1238, 2), 0x7788u);
  EXPECT_EQ(ks.walks(), 0u);
  EXPECT_FALSE(ks.image_to_phys(kStartKernelMap + kKernelImageSize).ok());
  EXPECT_FALSE(ks.image_to_phys(kPageOffset4).ok());
}

TEST(KernelSpace, DirectMapWithoutAWalk) {
  Guest4 g;
  g.ram.put_u64(0x7ff8, 42);
  auto mem = g.ram.memory();
  KernelSpace ks(mem, g.layout());
  EXPECT_EQ(*ks.read_u64(kPageOffset4 + 0x7ff8), 42u);
  EXPECT_EQ(ks.walks(), 0u);
  // Past the end of RAM the direct-map window ends: the walk finds nothing
  // mapped there.
  auto e = error_of(ks.read_u64(kPageOffset4 + kRam));
  EXPECT_NE(e.find("not present"), std::string::npos) << e;
  EXPECT_EQ(ks.walks(), 1u);
}

TEST(KernelSpace, ExplicitDirectMapSizeIsHonoured) {
  Guest4 g;
  auto mem = g.ram.memory();
  KernelLayout l = g.layout();
  l.direct_map_size = 1 << 20;
  l.pgd_phys = 0;
  KernelSpace ks(mem, l);
  EXPECT_TRUE(ks.translate(kPageOffset4 + (1 << 20) - 1).ok());
  auto e = error_of(ks.translate(kPageOffset4 + (1 << 20)));
  EXPECT_NE(e.find("no page table is known"), std::string::npos) << e;
}

TEST(KernelSpace, VmallocIsWalked) {
  Guest4 g;
  g.ram.put_u64(0x9010, 0xfeedface);
  auto mem = g.ram.memory();
  KernelSpace ks(mem, g.layout());
  EXPECT_EQ(*ks.translate(kVmalloc4 + 0x1010), 0x9010u);
  EXPECT_EQ(*ks.read_u64(kVmalloc4 + 0x1010), 0xfeedfaceu);
  EXPECT_EQ(ks.walks(), 2u);
}

TEST(KernelSpace, ReadsAcrossPagesTranslateEachPage) {
  Guest4 g;
  g.ram.put_bytes(0x9ffc, "abcd");  // end of the page behind kVmalloc4 + 0x1000
  g.ram.put_bytes(0x3000, "efgh");  // start of the page behind kVmalloc4 + 0x2000
  g.ram.put_bytes(0xa000, "XXXX");  // physically next: must not be read
  auto mem = g.ram.memory();
  KernelSpace ks(mem, g.layout());
  std::array<uint8_t, 8> out{};
  ASSERT_TRUE(ks.read(kVmalloc4 + 0x1ffc, out).ok());
  EXPECT_EQ(std::string(out.begin(), out.end()), "abcdefgh");
  EXPECT_EQ(*ks.read_u64(kVmalloc4 + 0x1ffc), 0x6867666564636261ull);

  // A read running into an unmapped page fails and names the address.
  auto e = error_of(ks.read(kVmalloc4 + 0x2ffc, out));
  EXPECT_NE(e.find("reading kernel 0xffffc90000002ffc (+8)"), std::string::npos) << e;
  EXPECT_NE(e.find("pte entry 0x0 not present"), std::string::npos) << e;
}

TEST(KernelSpace, CStringsAreBoundedAndMayCrossPages) {
  Guest4 g;
  g.ram.put_bytes(0x9ffc, "sche");
  g.ram.put_bytes(0x3000, std::string_view("d_ext\0junk", 10));
  auto mem = g.ram.memory();
  KernelSpace ks(mem, g.layout());
  EXPECT_EQ(*ks.read_cstring(kVmalloc4 + 0x1ffc, 64), "sched_ext");
  EXPECT_EQ(*ks.read_cstring(kVmalloc4 + 0x1ffc, 6), "sched_");
  EXPECT_EQ(*ks.read_cstring(kVmalloc4 + 0x1ffc, 0), "");
  // No NUL before the mapping ends: an error, not a runaway read.
  g.ram.put_bytes(0x3000, std::string(4096, 'x'));
  auto mem2 = g.ram.memory();
  KernelSpace ks2(mem2, g.layout());
  EXPECT_EQ(ks2.read_cstring(kVmalloc4 + 0x1ffc, 5000).ok(), false);
  EXPECT_EQ(ks2.read_cstring(kVmalloc4 + 0x2000, 4096)->size(), 4096u);
}

TEST(KernelSpace, UserAndNonCanonicalAddressesAreRefused) {
  Guest4 g;
  auto mem = g.ram.memory();
  KernelSpace ks(mem, g.layout());
  auto e = error_of(ks.read_u64(0x00007fffdead0000ull));
  EXPECT_NE(e.find("0x7fffdead0000 is not a kernel address"), std::string::npos) << e;
  EXPECT_FALSE(ks.read_u64(0x8000000000000000ull).ok());
  EXPECT_FALSE(ks.read_u64(kPageOffset5).ok()) << "5-level address on a 4-level guest";
  EXPECT_FALSE(ks.read_u64(0).ok());
  // A read that wraps past 2^64 leaves the kernel half.
  std::array<uint8_t, 16> out{};
  EXPECT_FALSE(ks.read(~0ull - 7, out).ok());
  EXPECT_FALSE(ks.read_uint(kPageOffset4, 3).ok());
}

TEST(KernelSpace, HostilePointersStayErrors) {
  Guest4 g;
  // A vmalloc pte pointing far outside RAM; a text window past RAM.
  g.ram.map(g.pgd, 4, kVmalloc4 + 0x5000, 0x7ff00000000ull, 4096);
  auto mem = g.ram.memory();
  KernelSpace ks(mem, g.layout());
  EXPECT_EQ(*ks.translate(kVmalloc4 + 0x5000), 0x7ff00000000ull);
  auto e = error_of(ks.read_u64(kVmalloc4 + 0x5000));
  EXPECT_NE(e.find("guest-physical 0x7ff00000000 (+8) is outside guest RAM"), std::string::npos)
      << e;
  EXPECT_FALSE(ks.read_u64(kStartKernelMap + kRam).ok());
  KernelLayout wild = g.layout();
  wild.phys_base = 0x8000000000000000ull;  // lands far outside RAM
  KernelSpace ks_wild(mem, wild);
  EXPECT_FALSE(ks_wild.read_u64(kStartKernelMap + 0x1000).ok());
}

TEST(KernelSpace, KaslrPhysBaseWrapsLikeTheKernels) {
  // KASLR may load the image physically below its link address: phys_base
  // is then "negative" and the kernel's __phys_addr() wraps modulo 2^64.
  Guest4 g;
  auto mem = g.ram.memory();
  KernelLayout l = g.layout();
  l.phys_base = 0ull - 0x1000;
  KernelSpace ks(mem, l);
  EXPECT_EQ(*ks.translate(kStartKernelMap + 0x3000), 0x2000u);
}

TEST(KernelSpace, WritesNeedWritableMemory) {
  Guest4 g;
  auto rw = g.ram.memory(Access::kReadWrite);
  KernelSpace ks(rw, g.layout());
  const std::array<uint8_t, 8> data{'1', '2', '3', '4', '5', '6', '7', '8'};
  ASSERT_TRUE(ks.write(kVmalloc4 + 0x1ffc, data).ok());
  EXPECT_EQ(*rw.read_u32(0x9ffc), 0x34333231u);
  EXPECT_EQ(*rw.read_u32(0x3000), 0x38373635u);
  EXPECT_FALSE(ks.write(kVmalloc4 + 0x2ffc, data).ok());
  EXPECT_EQ(*rw.read_u32(0x3ffc), 0u) << "a write into an unmapped page writes nothing";

  auto ro = g.ram.memory(Access::kReadOnly);
  KernelSpace ks_ro(ro, g.layout());
  auto e = error_of(ks_ro.write(kPageOffset4, data));
  EXPECT_NE(e.find("read-only"), std::string::npos) << e;
  EXPECT_EQ(*ro.read_u64(0), 0u);
}

TEST(KernelSpace, FiveLevelGuest) {
  SyntheticRam ram(kRam, kTables);
  const uint64_t pgd = ram.alloc_table();
  ram.map(pgd, 5, kPageOffset5, 0, 1 << 30);  // the direct map as one 1 GiB page
  ram.map(pgd, 5, kVmalloc5 + 0x3000, 0x4000, 4096);
  ram.put_u64(0x4008, 77);
  auto mem = ram.memory();
  KernelLayout l;
  l.phys_base = kPhysBase;
  l.page_offset_base = kPageOffset5;
  l.pgd_phys = pgd;
  l.paging_levels = paging_levels_for(kPageOffset5);
  KernelSpace ks(mem, l);
  EXPECT_EQ(*ks.read_u64(kVmalloc5 + 0x3008), 77u);
  EXPECT_EQ(*ks.read_u64(kPageOffset5 + 0x4008), 77u);
  EXPECT_EQ(ks.walks(), 1u);
}

TEST(DetectPagingLevels, FindsTheDepthThatMapsTheDirectMap) {
  Guest4 g4;
  EXPECT_EQ(*detect_paging_levels(g4.ram.memory(), g4.pgd, kPageOffset4), 4u);

  SyntheticRam ram5(kRam, kTables);
  const uint64_t pgd5 = ram5.alloc_table();
  ram5.map(pgd5, 5, kPageOffset5, 0, 2 << 20);
  EXPECT_EQ(*detect_paging_levels(ram5.memory(), pgd5, kPageOffset5), 5u);

  // Direct map pointing at the wrong frame, and no tables at all.
  SyntheticRam bad(kRam, kTables);
  const uint64_t pgd_bad = bad.alloc_table();
  bad.map(pgd_bad, 4, kPageOffset4, 2 << 20, 2 << 20);
  auto e = error_of(detect_paging_levels(bad.memory(), pgd_bad, kPageOffset4));
  EXPECT_NE(e.find("4 levels: maps to 0x200000"), std::string::npos) << e;
  EXPECT_FALSE(detect_paging_levels(bad.memory(), 0x10000000, kPageOffset4).ok());
}

}  // namespace
}  // namespace ktstr::guestmem
