#include "guestmem/page_walk.h"

#include <gtest/gtest.h>

#include <random>

#include "synthetic_ram.h"

namespace ktstr::guestmem {
namespace {

using testing::SyntheticRam;

constexpr uint64_t kRam = 8 << 20;
constexpr uint64_t kTables = 4 << 20;
constexpr uint64_t kVmalloc4 = 0xffffc90000000000ull;
constexpr uint64_t kVmalloc5 = 0xffa0000000000000ull;

std::string error_of(const Result<PageMapping>& r) {
  return r.ok() ? "ok" : r.error().message();
}

TEST(PageWalk, FourLevelsFourKiB) {
  SyntheticRam ram(kRam, kTables);
  const uint64_t pgd = ram.alloc_table();
  ram.map(pgd, 4, kVmalloc4 + 0x123000, 0x5000, 4096);
  auto mem = ram.memory();
  auto m = walk_page_tables(mem, pgd, 4, kVmalloc4 + 0x123010);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->phys, 0x5010u);
  EXPECT_EQ(m->page_size, 4096u);
  // The neighbouring page is not mapped: its pte is empty.
  EXPECT_NE(error_of(walk_page_tables(mem, pgd, 4, kVmalloc4 + 0x124000)).find("pte entry 0x0 not present"),
            std::string::npos);
  // Another pmd slot of the same pud table: the pmd entry is empty.
  EXPECT_NE(error_of(walk_page_tables(mem, pgd, 4, kVmalloc4 + 0x40000000)).find("pud entry 0x0 not present"),
            std::string::npos);
  EXPECT_NE(error_of(walk_page_tables(mem, pgd, 4, kVmalloc4 + 0x200000)).find("pmd entry 0x0 not present"),
            std::string::npos);
}

TEST(PageWalk, FiveLevelsFourKiB) {
  SyntheticRam ram(kRam, kTables);
  const uint64_t pgd = ram.alloc_table();
  ram.map(pgd, 5, kVmalloc5 + 0x7000, 0x6000, 4096);
  auto mem = ram.memory();
  auto m = walk_page_tables(mem, pgd, 5, kVmalloc5 + 0x7ff8);
  ASSERT_TRUE(m.ok()) << m.error().message();
  EXPECT_EQ(m->phys, 0x6ff8u);
  // The same tables walked as 4-level do not reach that page.
  EXPECT_FALSE(walk_page_tables(mem, pgd, 4, kVmalloc5 + 0x7ff8).ok());
  EXPECT_NE(error_of(walk_page_tables(mem, pgd, 5, kVmalloc5 + (1ull << 39))).find("p4d entry"),
            std::string::npos);
}

TEST(PageWalk, HugePagesIgnoreThePatBit) {
  SyntheticRam ram(kRam, kTables);
  const uint64_t pgd = ram.alloc_table();
  const uint64_t pat = 1ull << 12;
  ram.map(pgd, 4, kVmalloc4 + 0x200000, 0x200000, 2 << 20, pat);
  ram.map(pgd, 4, kVmalloc4 + 0x40000000, 0x40000000, 1 << 30, pat);
  ram.map(pgd, 5, kVmalloc5 + 0x40000000, 0x80000000, 1 << 30);
  auto mem = ram.memory();
  auto m2 = walk_page_tables(mem, pgd, 4, kVmalloc4 + 0x201234);
  ASSERT_TRUE(m2.ok()) << m2.error().message();
  EXPECT_EQ(m2->phys, 0x201234u);
  EXPECT_EQ(m2->page_size, 2u << 20);
  auto m1 = walk_page_tables(mem, pgd, 4, kVmalloc4 + 0x40345678);
  ASSERT_TRUE(m1.ok()) << m1.error().message();
  EXPECT_EQ(m1->phys, 0x40345678u);
  EXPECT_EQ(m1->page_size, 1u << 30);
  auto m5 = walk_page_tables(mem, pgd, 5, kVmalloc5 + 0x40000010);
  ASSERT_TRUE(m5.ok()) << m5.error().message();
  EXPECT_EQ(m5->phys, 0x80000010u);
}

TEST(PageWalk, TableOutsideRamIsAnError) {
  SyntheticRam ram(kRam, kTables);
  const uint64_t pgd = ram.alloc_table();
  ram.put_u64(pgd + 0x192 * 8, 0x7fff000 | kPtePresent);  // pgd index of kVmalloc4
  auto e = error_of(walk_page_tables(ram.memory(), pgd, 4, kVmalloc4));
  EXPECT_NE(e.find("reading pud table at 0x7fff000"), std::string::npos) << e;
  EXPECT_NE(e.find("outside guest RAM"), std::string::npos) << e;
  // The pgd itself outside RAM.
  e = error_of(walk_page_tables(ram.memory(), 0x10000000, 4, kVmalloc4));
  EXPECT_NE(e.find("reading pgd table at 0x10000000"), std::string::npos) << e;
}

TEST(PageWalk, SelfReferencingTablesStopAtTheFixedDepth) {
  SyntheticRam ram(kRam, kTables);
  const uint64_t pgd = ram.alloc_table();
  for (int i = 0; i < 512; ++i) ram.put_u64(pgd + i * 8, pgd | kPtePresent);
  auto mem = ram.memory();
  for (unsigned levels : {4u, 5u}) {
    auto m = walk_page_tables(mem, pgd, levels, kVmalloc5 + 0xabc);
    ASSERT_TRUE(m.ok()) << m.error().message();
    EXPECT_EQ(m->phys, pgd + 0xabc) << "the last level maps the table itself";
  }
}

TEST(PageWalk, ReservedPsBitAtTheTopIsAnError) {
  SyntheticRam ram(kRam, kTables);
  const uint64_t pgd = ram.alloc_table();
  ram.put_u64(pgd + 0x192 * 8, kPtePresent | kPtePageSize);
  auto e = error_of(walk_page_tables(ram.memory(), pgd, 4, kVmalloc4));
  EXPECT_NE(e.find("pgd entry 0x81 has the reserved PS bit"), std::string::npos) << e;
  EXPECT_NE(error_of(walk_page_tables(ram.memory(), pgd, 3, kVmalloc4)).find("3 paging levels"),
            std::string::npos);
}

TEST(PageWalk, RandomTablesNeverCrash) {
  SyntheticRam ram(kRam, kTables);
  std::mt19937_64 rng(42);
  // Random entries, biased to point back into the table area so walks go deep.
  for (uint64_t pa = kTables; pa < kRam; pa += 8) {
    uint64_t v = rng();
    if (v & 2) v = (kTables + (v % (kRam - kTables))) | (v & 0x81) | kPtePresent;
    ram.put_u64(pa, v);
  }
  auto mem = ram.memory();
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    const uint64_t pgd = kTables + (rng() % (kRam - kTables));
    auto m = walk_page_tables(mem, pgd, 4 + (i & 1), 0xff00000000000000ull | rng());
    ok += m.ok();
  }
  EXPECT_GT(ok, 0);  // some walks land, some fail; none crash
}

}  // namespace
}  // namespace ktstr::guestmem
