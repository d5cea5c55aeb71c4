// Listing and rendering BPF maps out of a synthetic guest.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "fake_kernel.h"
#include "freeze/bpf_maps.h"
#include "freeze/kernel_ops.h"

namespace ktstr::freeze {
namespace {

using test::FakeKernel;
using test::kva;

constexpr uint64_t kNode = 0x200000;
constexpr uint64_t kProgBtfPa = 0x380000;
constexpr uint64_t kStatsPa = 0x300000, kBssPa = 0x308000, kPcpuPa = 0x309000,
                   kHashPa = 0x30a000, kExtraPa = 0x30b000;
constexpr uint64_t kPcpuValuesPa = 0x180000;

// A guest with an array of struct stats (4 entries), a .bss, a per-CPU
// array of u64 (3 entries) and a hash map, ids 1..4.
struct Scheduler {
  FakeKernel k;
  test::ProgBtf prog = test::build_prog_btf();
  uint64_t btf_kva = 0;

  Scheduler() {
    btf_kva = k.place_btf(kProgBtfPa, prog.bytes);
    k.set_xa_head(k.node(kNode, 0));
    k.slot(kNode, 1, k.place_map(kStatsPa, {.id = 1, .value_size = 32, .max_entries = 4,
                                            .btf = btf_kva, .value_type_id = prog.stats,
                                            .name = "stats"}));
    for (uint32_t i = 0; i < 4; ++i) {
      const uint64_t e = FakeKernel::elem_pa(kStatsPa, 32, i);
      k.put(e + 0, 100 + i, 8);
      k.put(e + 8, 200 + i, 8);
      k.put(e + 16, 300 + i, 8);
      k.put(e + 24, i, 4);
      k.put(e + 28, 0xf0 + i, 4);
    }
    k.slot(kNode, 2, k.place_map(kBssPa, {.id = 2, .value_size = 16, .max_entries = 1,
                                          .btf = btf_kva, .value_type_id = prog.bss,
                                          .name = "scx_simple.bss"}));
    k.put(FakeKernel::elem_pa(kBssPa, 16, 0), 123456789, 8);
    k.put(FakeKernel::elem_pa(kBssPa, 16, 0) + 8, 42, 4);
    k.slot(kNode, 3, k.place_map(kPcpuPa, {.id = 3, .type = 6, .value_size = 8, .max_entries = 3,
                                           .btf = btf_kva, .value_type_id = prog.u64,
                                           .name = "pcpu_cnt"}));
    for (uint32_t i = 0; i < 3; ++i) {
      const uint64_t pptr = kva(kPcpuValuesPa + i * 64);
      k.put(kPcpuPa + test::off::kValue + i * 8, pptr, 8);
      for (uint32_t cpu = 0; cpu < k.nr_cpus(); ++cpu)
        k.put(kPcpuValuesPa + i * 64 + cpu * test::kPcpuStride, 1000 * (i + 1) + cpu, 8);
    }
    k.slot(kNode, 4, k.place_map(kHashPa, {.id = 4, .type = 1, .value_size = 8, .max_entries = 64,
                                           .btf = btf_kva, .value_type_id = prog.u64,
                                           .name = "task_ctx"}));
  }
  void boot() { k.boot(); }
  BpfLayout layout() {
    auto l = BpfLayout::from_btf(k.btf());
    EXPECT_TRUE(l.ok()) << l.error().message();
    return *l;
  }
  MapRef ref(uint32_t id) {
    auto maps = list_bpf_maps(k.space(), k.syms(), k.btf());
    EXPECT_TRUE(maps.ok());
    for (auto& m : *maps)
      if (m.id == id) return m;
    ADD_FAILURE() << "no map " << id;
    return {};
  }
  MapDump dump(uint32_t id, const DumpLimits& limits = {}) {
    auto d = dump_bpf_map(k.space(), k.reader(), k.btf(), ref(id), limits);
    EXPECT_TRUE(d.ok()) << d.error().message();
    return d.ok() ? *d : MapDump{};
  }
};

TEST(BpfMaps, ListsMetadataWithTypeNames) {
  Scheduler s;
  s.boot();
  auto maps = list_bpf_maps(s.k.space(), s.k.syms(), s.k.btf());
  ASSERT_TRUE(maps.ok()) << maps.error().message();
  ASSERT_EQ(maps->size(), 4u);
  const auto& stats = (*maps)[0];
  EXPECT_EQ(stats.id, 1u);
  EXPECT_EQ(stats.name, "stats");
  EXPECT_EQ(stats.type_name, "array");
  EXPECT_EQ(stats.value_size, 32u);
  EXPECT_EQ(stats.max_entries, 4u);
  EXPECT_EQ(stats.btf, s.btf_kva);
  EXPECT_EQ((*maps)[1].name, "scx_simple.bss");
  EXPECT_EQ((*maps)[2].type_name, "percpu_array");
  EXPECT_EQ((*maps)[3].type_name, "hash");
}

TEST(BpfMaps, TypeNamesPreferTheLiveAlias) {
  FakeKernel k;
  k.boot();
  auto l = BpfLayout::from_btf(k.btf());
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->type_name(19), "cgroup_storage");
  EXPECT_EQ(l->type_name(99), "type 99");
}

TEST(BpfMaps, RendersAnArrayOfStructs) {
  Scheduler s;
  s.boot();
  MapDump d = s.dump(1);
  EXPECT_TRUE(d.note.empty()) << d.note;
  ASSERT_TRUE(d.value.is_array());
  ASSERT_EQ(d.value.size(), 4u);
  EXPECT_EQ(d.value[2], (nlohmann::json{{"nr_enq", 102}, {"nr_deq", 202}, {"vtime", 302},
                                         {"cpu", 2}, {"flags", 0xf2}}));
}

TEST(BpfMaps, RendersADatasecAsOneObject) {
  Scheduler s;
  s.boot();
  MapDump d = s.dump(2);
  EXPECT_TRUE(d.note.empty()) << d.note;
  EXPECT_EQ(d.value, (nlohmann::json{{"vtime_now", 123456789}, {"nr_dispatched", 42}}));
}

TEST(BpfMaps, RendersAPerCpuArrayPerIndexPerCpu) {
  Scheduler s;
  s.boot();
  MapDump d = s.dump(3);
  EXPECT_TRUE(d.note.empty()) << d.note;
  EXPECT_EQ(d.value, nlohmann::json::parse("[[1000,1001],[2000,2001],[3000,3001]]"));
}

TEST(BpfMaps, OtherTypesAreListedNotRendered) {
  Scheduler s;
  s.boot();
  MapDump d = s.dump(4);
  EXPECT_TRUE(d.value.is_null());
  EXPECT_EQ(d.note, "map type hash not rendered");
  EXPECT_EQ(d.max_entries, 64u);
}

TEST(BpfMaps, EntryLimitTruncatesWithANote) {
  Scheduler s;
  s.boot();
  MapDump d = s.dump(1, {.max_entries = 2});
  EXPECT_EQ(d.value.size(), 2u);
  EXPECT_EQ(d.note, "rendered 2 of 4 entries (limit)");
  MapDump p = s.dump(3, {.max_value_bytes = 16});  // 8 bytes x 2 CPUs: one index
  EXPECT_EQ(p.value.size(), 1u);
  EXPECT_EQ(p.note, "rendered 1 of 3 entries (limit)");
}

TEST(BpfMaps, MapWithoutBtfShowsRawValues) {
  Scheduler s;
  MapDump typed = [&] {
    Scheduler t;
    t.boot();
    return t.dump(1);
  }();
  s.k.put(kStatsPa + test::off::kBtf, 0, 8);
  s.boot();
  MapDump d = s.dump(1);
  ASSERT_TRUE(d.value.is_array()) << d.note;
  EXPECT_EQ(d.value.size(), typed.value.size());
  EXPECT_EQ(d.note.rfind("no BTF value type: values shown as", 0), 0u) << d.note;
}

TEST(BpfMaps, HostileBtfBlobsAreNotes) {
  {
    Scheduler s;
    s.k.put(kProgBtfPa + test::off::kBtfDataSize, 0xffffffffu, 4);
    s.boot();
    MapDump d = s.dump(1);
    EXPECT_TRUE(d.value.is_null());
    EXPECT_NE(d.note.find("map BTF size"), std::string::npos) << d.note;
  }
  {
    Scheduler s;
    s.k.put(kProgBtfPa + 0x100, 0xdeadbeef, 4);  // breaks the BTF magic
    s.boot();
    MapDump d = s.dump(1);
    EXPECT_TRUE(d.value.is_null());
    EXPECT_NE(d.note.find("parsing map BTF"), std::string::npos) << d.note;
  }
  {
    Scheduler s;
    s.k.put(kProgBtfPa + test::off::kBtfData, test::kOutsideRam, 8);
    s.boot();
    MapDump d = s.dump(1);
    EXPECT_NE(d.note.find("reading"), std::string::npos) << d.note;
  }
  {
    Scheduler s;
    s.k.put(kProgBtfPa + test::off::kBtfStartId, 1000, 4);
    s.boot();
    EXPECT_EQ(s.dump(1).note, "split BTF not supported");
  }
}

TEST(BpfMaps, HostileArrayGeometryIsANote) {
  {
    Scheduler s;
    s.k.put(kStatsPa + test::off::kElemSize, 8, 4);  // smaller than value_size 32
    s.boot();
    MapDump d = s.dump(1);
    EXPECT_TRUE(d.value.is_null());
    EXPECT_NE(d.note.find("elem_size 8"), std::string::npos) << d.note;
  }
  {
    Scheduler s;
    s.k.put(kStatsPa + test::off::kValueSize, 16, 4);  // type is 32 bytes
    s.boot();
    MapDump d = s.dump(1);
    EXPECT_TRUE(d.value.is_null());
    EXPECT_NE(d.note.find("32 bytes"), std::string::npos) << d.note;
  }
  {
    Scheduler s;
    s.k.put(kStatsPa + test::off::kBtfValueTypeId, 9999, 4);
    s.boot();
    EXPECT_NE(s.dump(1).note.find("value type 9999"), std::string::npos);
  }
  {
    // max_entries says 4 billion: only `limit` entries are read and rendered.
    Scheduler s;
    s.k.put(kStatsPa + test::off::kMaxEntries, 0xffffffffu, 4);
    s.boot();
    MapDump d = s.dump(1, {.max_entries = 8});
    EXPECT_EQ(d.value.size(), 8u);
    EXPECT_NE(d.note.find("rendered 8 of 4294967295"), std::string::npos) << d.note;
  }
}

TEST(BpfMaps, PerCpuPointerOutsideRamIsNullWithANote) {
  Scheduler s;
  s.k.put(kPcpuPa + test::off::kValue + 8, test::kOutsideRam, 8);
  s.boot();
  MapDump d = s.dump(3);
  EXPECT_EQ(d.value[0], nlohmann::json::parse("[1000,1001]"));
  EXPECT_EQ(d.value[1], nlohmann::json::parse("[null,null]"));
  EXPECT_NE(d.note.find("[1] cpu 0"), std::string::npos) << d.note;
}

TEST(BpfMaps, HostileNameIsMadePrintable) {
  Scheduler s;
  s.k.put(kStatsPa + test::off::kName, 0x00ff0a41, 4);  // 'A', '\n', 0xff, NUL
  s.boot();
  EXPECT_EQ(s.ref(1).name, "A??");
}

TEST(BpfMaps, DumpAllSharesTheBtfAndKeepsBadMaps) {
  Scheduler s;
  s.k.slot(kNode, 5, test::kOutsideRam);
  s.k.slot(kNode, 6, s.k.place_map(kExtraPa, {.id = 6, .value_size = 8, .max_entries = 1,
                                              .btf = s.btf_kva, .value_type_id = s.prog.u64,
                                              .name = "one"}));
  s.boot();
  std::vector<std::string> errors;
  auto all = dump_bpf_maps(s.k.space(), s.k.syms(), s.k.reader(), s.layout(), {}, &errors);
  ASSERT_TRUE(all.ok()) << all.error().message();
  ASSERT_EQ(all->size(), 6u);
  EXPECT_EQ((*all)[4].name, "map#5");
  EXPECT_NE((*all)[4].note.find("struct bpf_map"), std::string::npos);
  EXPECT_EQ((*all)[5].value, nlohmann::json::array({0}));
  EXPECT_TRUE(errors.empty());
}

TEST(BpfMaps, NodeBudgetStopsRendering) {
  Scheduler s;
  s.boot();
  MapDump d = s.dump(1, {.max_nodes = 10});  // one struct stats is 6 nodes
  EXPECT_EQ(d.value.size(), 2u);
  EXPECT_EQ(d.note, "output budget of 10 JSON nodes spent after 2 of 4 entries");
}

TEST(BpfMaps, SnapshotBudgetsAreSharedByAllMaps) {
  Scheduler s;
  s.boot();
  // 4 x 32 bytes of stats spend the whole byte budget: the .bss gets none.
  auto all = dump_bpf_maps(s.k.space(), s.k.syms(), s.k.reader(), s.layout(),
                           {.max_total_bytes = 128});
  ASSERT_TRUE(all.ok()) << all.error().message();
  EXPECT_EQ((*all)[0].value.size(), 4u);
  EXPECT_TRUE((*all)[1].value.is_null());
  EXPECT_EQ((*all)[1].note, "rendered 0 of 1 entries (limit)");

  auto few = dump_bpf_maps(s.k.space(), s.k.syms(), s.k.reader(), s.layout(), {.max_maps = 2});
  ASSERT_TRUE(few.ok());
  EXPECT_EQ(few->size(), 2u);
}

TEST(BpfMaps, DistinctBtfCountIsBounded) {
  Scheduler s;
  const uint64_t other_btf = s.k.place_btf(0x3c0000, s.prog.bytes);
  s.k.put(kBssPa + test::off::kBtf, other_btf, 8);
  s.boot();
  auto all = dump_bpf_maps(s.k.space(), s.k.syms(), s.k.reader(), s.layout(), {.max_btfs = 1});
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE((*all)[0].note.empty()) << (*all)[0].note;
  EXPECT_EQ((*all)[1].note, "more than 1 distinct map BTFs in one snapshot");
  EXPECT_TRUE((*all)[2].note.empty()) << (*all)[2].note;  // shares the first BTF
}

TEST(BpfMaps, MissingMapIdrIsAnError) {
  FakeKernel k;
  k.boot();
  ksyms::SymbolTable empty;
  auto maps = list_bpf_maps(k.space(), empty, k.btf());
  ASSERT_FALSE(maps.ok());
  EXPECT_NE(maps.error().message().find("map_idr"), std::string::npos);
}

TEST(FindMap, ExactThenUniqueSuffix) {
  std::vector<MapDump> maps(4);
  maps[0].name = "scx_simple.bss";
  maps[1].name = "scx_simple.data";
  maps[2].name = "stats";
  maps[3].name = "other.data";
  auto exact = find_map(maps, "stats");
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(*exact, &maps[2]);
  auto suffix = find_map(maps, ".bss");
  ASSERT_TRUE(suffix.ok());
  EXPECT_EQ((*suffix)->name, "scx_simple.bss");
  auto ambiguous = find_map(maps, ".data");
  ASSERT_FALSE(ambiguous.ok());
  EXPECT_EQ(ambiguous.error().message(),
            "map name '.data' is ambiguous: matches scx_simple.data, other.data");
  auto missing = find_map(maps, "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  EXPECT_NE(missing.error().message().find("stats"), std::string::npos);
  const auto& cmaps = maps;
  auto c = find_map(cmaps, "simple.bss");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(*c, &maps[0]);
}

}  // namespace
}  // namespace ktstr::freeze

namespace ktstr::freeze {
namespace {

// The real guest kernel's BTF, when the kernel cache has it: every offset
// freeze needs must be found there.
TEST(RealKernelBtf, LayoutResolves) {
  const char* home = std::getenv("HOME");
  std::filesystem::path path = std::filesystem::path(home ? home : "/nonexistent") /
                               ".cache/ktstr/kernels/7.2.13+deb14-cloud-amd64/vmlinux.btf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "no cached kernel BTF at " << path;
  auto btf = ksyms::KernelBtf::load(path);
  ASSERT_TRUE(btf.ok()) << btf.error().message();
  auto l = BpfLayout::from_btf(*btf);
  ASSERT_TRUE(l.ok()) << l.error().message();
  EXPECT_EQ(l->xa_node.nr_slots, 64u);
  EXPECT_EQ(l->map_name_size, 16u);
  EXPECT_EQ(l->type_name(2), "array");
  EXPECT_EQ(l->type_name(6), "percpu_array");
  EXPECT_EQ(l->type_name(19), "cgroup_storage");
  EXPECT_TRUE(l->btf_base_btf.has_value());
  auto rq = var_type(*btf, "runqueues", ".data..percpu");
  ASSERT_TRUE(rq.ok()) << rq.error().message();
  EXPECT_EQ(btf->type_name(btf->resolve(*rq)), "struct rq");
}

}  // namespace
}  // namespace ktstr::freeze
