// map_idr walks over hand-built XArrays, sane and hostile.
#include <gtest/gtest.h>

#include "fake_kernel.h"
#include "freeze/bpf_maps.h"
#include "freeze/xarray.h"

namespace ktstr::freeze {
namespace {

using test::FakeKernel;
using test::kva;

constexpr uint64_t kNodeA = 0x200000, kNodeB = 0x200400, kNodeC = 0x200800;

// A plain hash map (metadata only) at `pa`.
uint64_t hash_map(FakeKernel& k, uint64_t pa, uint32_t id) {
  return k.place_map(pa, {.id = id, .type = 1, .value_size = 8, .max_entries = 16,
                          .name = "m" + std::to_string(id)});
}

XaWalk walk(FakeKernel& k, XaLimits limits = {}) {
  k.boot();
  auto layout = XaNodeLayout::from_btf(k.btf());
  EXPECT_TRUE(layout.ok()) << layout.error().message();
  uint64_t head = *k.space().read_u64(kva(test::kMapIdrPa + test::off::kXaHead));
  return walk_xarray(k.space(), head, *layout, limits);
}

std::vector<uint64_t> indices(const XaWalk& w) {
  std::vector<uint64_t> out;
  for (const auto& e : w.entries) out.push_back(e.index);
  return out;
}

TEST(Xarray, EmptyHeadHasNoEntries) {
  FakeKernel k;
  auto w = walk(k);
  EXPECT_TRUE(w.entries.empty());
  EXPECT_TRUE(w.notes.empty());
}

TEST(Xarray, PlainHeadIsTheEntryAtIndexZero) {
  FakeKernel k;
  k.set_xa_head(hash_map(k, 0x300000, 1));
  auto w = walk(k);
  ASSERT_EQ(w.entries.size(), 1u);
  EXPECT_EQ(w.entries[0].index, 0u);
  EXPECT_EQ(w.entries[0].pointer, kva(0x300000));
}

TEST(Xarray, ValueAndInternalHeadsAreSkipped) {
  FakeKernel k;
  k.set_xa_head(0x4001);  // a value entry
  EXPECT_TRUE(walk(k).entries.empty());
  FakeKernel k2;
  k2.set_xa_head(0x402);  // XA_RETRY_ENTRY
  EXPECT_TRUE(walk(k2).entries.empty());
}

TEST(Xarray, OneLevelNodeSkipsValueRetryAndZeroEntries) {
  FakeKernel k;
  k.set_xa_head(k.node(kNodeA, 0));
  k.slot(kNodeA, 1, hash_map(k, 0x300000, 1));
  k.slot(kNodeA, 2, hash_map(k, 0x301000, 2));
  k.slot(kNodeA, 3, 0x1235);  // value entry
  k.slot(kNodeA, 4, 0x402);   // retry
  k.slot(kNodeA, 5, 0x406);   // zero
  k.slot(kNodeA, 63, hash_map(k, 0x302000, 63));
  auto w = walk(k);
  EXPECT_EQ(indices(w), (std::vector<uint64_t>{1, 2, 63}));
  EXPECT_EQ(w.nodes, 1u);
  EXPECT_TRUE(w.notes.empty());
}

TEST(Xarray, TwoLevelNodesGiveIndicesInOrder) {
  FakeKernel k;
  k.set_xa_head(k.node(kNodeA, 6));
  k.slot(kNodeA, 2, k.node(kNodeC, 0));
  k.slot(kNodeA, 0, k.node(kNodeB, 0));
  k.slot(kNodeB, 1, hash_map(k, 0x300000, 1));
  k.slot(kNodeC, 5, hash_map(k, 0x301000, 133));
  auto w = walk(k);
  EXPECT_EQ(indices(w), (std::vector<uint64_t>{1, 2 * 64 + 5}));
  EXPECT_EQ(w.nodes, 3u);
}

TEST(Xarray, NodeLoopIsCutWithANote) {
  FakeKernel k;
  const uint64_t self = k.node(kNodeA, 6);
  k.set_xa_head(self);
  k.slot(kNodeA, 0, self);  // points at itself
  k.slot(kNodeA, 1, k.node(kNodeB, 0));
  k.slot(kNodeB, 0, hash_map(k, 0x300000, 64));
  auto w = walk(k);
  EXPECT_EQ(indices(w), (std::vector<uint64_t>{64}));
  ASSERT_FALSE(w.notes.empty());
  EXPECT_NE(w.notes[0].find("(a loop)"), std::string::npos) << w.notes[0];
}

TEST(Xarray, SharedChildIsVisitedOnce) {
  FakeKernel k;
  k.set_xa_head(k.node(kNodeA, 6));
  const uint64_t child = k.node(kNodeB, 0);
  k.slot(kNodeA, 0, child);
  k.slot(kNodeA, 1, child);
  k.slot(kNodeB, 3, hash_map(k, 0x300000, 3));
  auto w = walk(k);
  EXPECT_EQ(w.entries.size(), 1u);
  ASSERT_EQ(w.notes.size(), 1u);
  EXPECT_NE(w.notes[0].find("reached twice"), std::string::npos) << w.notes[0];
}

TEST(Xarray, SlotOutsideRamIsANoteAndTheWalkGoesOn) {
  FakeKernel k;
  k.set_xa_head(k.node(kNodeA, 6));
  k.slot(kNodeA, 0, test::kOutsideRam | 2);
  k.slot(kNodeA, 1, k.node(kNodeB, 0));
  k.slot(kNodeB, 0, hash_map(k, 0x300000, 64));
  auto w = walk(k);
  EXPECT_EQ(indices(w), (std::vector<uint64_t>{64}));
  ASSERT_EQ(w.notes.size(), 1u);
  EXPECT_NE(w.notes[0].find("0x"), std::string::npos);
}

TEST(Xarray, DepthBombIsBounded) {
  // A legal-looking chain 60, 54, ..., 0 (11 levels) under a depth limit of 3.
  FakeKernel k;
  uint64_t pa = 0x200000;
  k.set_xa_head(k.node(pa, 60));
  for (int shift = 54; shift >= 0; shift -= 6) {
    const uint64_t next = pa + 0x400;
    k.slot(pa, 0, k.node(next, static_cast<unsigned>(shift)));
    pa = next;
  }
  k.slot(pa, 7, hash_map(k, 0x300000, 7));
  auto full = walk(k);
  EXPECT_EQ(indices(full), (std::vector<uint64_t>{7}));
  EXPECT_EQ(full.nodes, 11u);

  FakeKernel k2;
  pa = 0x200000;
  k2.set_xa_head(k2.node(pa, 60));
  for (int shift = 54; shift >= 0; shift -= 6) {
    const uint64_t next = pa + 0x400;
    k2.slot(pa, 0, k2.node(next, static_cast<unsigned>(shift)));
    pa = next;
  }
  auto cut = walk(k2, {.max_depth = 3});
  EXPECT_TRUE(cut.entries.empty());
  EXPECT_EQ(cut.nodes, 3u);
  ASSERT_FALSE(cut.notes.empty());
  EXPECT_NE(cut.notes[0].find("deeper than 3"), std::string::npos) << cut.notes[0];
}

TEST(Xarray, ImpossibleHeadShiftIsRefused) {
  FakeKernel k;
  k.set_xa_head(k.node(kNodeA, 66));
  k.slot(kNodeA, 0, hash_map(k, 0x300000, 1));
  auto w = walk(k);
  EXPECT_TRUE(w.entries.empty());
  EXPECT_EQ(w.notes.size(), 1u);
}

TEST(Xarray, NodeCountIsBounded) {
  FakeKernel k;
  k.set_xa_head(k.node(kNodeA, 6));
  for (unsigned i = 0; i < 8; ++i) {
    const uint64_t child_pa = 0x210000 + i * 0x400;
    k.slot(kNodeA, i, k.node(child_pa, 0));
    k.slot(child_pa, 0, hash_map(k, 0x300000 + i * 0x1000, i * 64));
  }
  auto w = walk(k, {.max_nodes = 3});
  EXPECT_EQ(w.nodes, 3u);
  EXPECT_EQ(w.entries.size(), 2u);
  ASSERT_FALSE(w.notes.empty());
  EXPECT_NE(w.notes.back().find("more than 3 nodes"), std::string::npos);
}

TEST(Xarray, MapPointerOutsideRamBecomesAnErrorEntry) {
  FakeKernel k;
  k.set_xa_head(k.node(kNodeA, 0));
  k.slot(kNodeA, 1, hash_map(k, 0x300000, 1));
  k.slot(kNodeA, 2, test::kOutsideRam);
  k.boot();
  auto maps = list_bpf_maps(k.space(), k.syms(), k.btf());
  ASSERT_TRUE(maps.ok()) << maps.error().message();
  ASSERT_EQ(maps->size(), 2u);
  EXPECT_TRUE((*maps)[0].error.empty());
  EXPECT_EQ((*maps)[0].name, "m1");
  EXPECT_NE((*maps)[1].error.find("id 2"), std::string::npos) << (*maps)[1].error;
}

}  // namespace
}  // namespace ktstr::freeze
