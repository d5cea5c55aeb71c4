// BPF map rendering throughput: dump_bpf_map of a 1024-entry array of a
// 5-field struct (32 KiB) and of a 1 KiB .data DATASEC (80 variables),
// read out of a synthetic guest and rendered to JSON through the map's
// BTF, beside a plain memcpy of the same bytes measured in the same run.
// Prints the render/memcpy bandwidth ratios at the end (rendering builds a
// JSON tree per field, so expect a few percent of memcpy; the point is to
// watch it not regress and to size snapshot budgets).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "fake_kernel.h"
#include "freeze/bpf_maps.h"

#include "../ratio_reporter.h"

namespace {

using ktstr::freeze::BpfLayout;
using ktstr::freeze::MapBtfCache;
using ktstr::freeze::MapRef;
using ktstr::freeze::test::FakeKernel;
using ktstr::freeze::test::must;

constexpr uint32_t kArrayEntries = 1024;
constexpr uint32_t kStatsSize = 32;
constexpr uint32_t kDatasecVars = 80;  // 64 u64 + 16 struct stats
constexpr uint32_t kDatasecSize = 64 * 8 + 16 * kStatsSize;
constexpr uint64_t kBtfPa = 0x380000, kArrayPa = 0x300000, kDataPa = 0x320000, kNodePa = 0x200000;

struct BenchBtf {
  std::vector<uint8_t> bytes;
  uint32_t stats = 0, data = 0;
};

BenchBtf build_btf() {
  BenchBtf r;
  btf* b = btf__new_empty();
  int u32 = must(btf__add_int(b, "unsigned int", 4, 0), "u32");
  int u64 = must(btf__add_int(b, "long long unsigned int", 8, 0), "u64");
  r.stats = static_cast<uint32_t>(must(btf__add_struct(b, "stats", kStatsSize), "stats"));
  must(btf__add_field(b, "nr_enq", u64, 0, 0), "nr_enq");
  must(btf__add_field(b, "nr_deq", u64, 64, 0), "nr_deq");
  must(btf__add_field(b, "vtime", u64, 128, 0), "vtime");
  must(btf__add_field(b, "cpu", u32, 192, 0), "cpu");
  must(btf__add_field(b, "flags", u32, 224, 0), "flags");
  std::vector<int> vars;
  for (uint32_t i = 0; i < kDatasecVars; ++i) {
    std::string name = "var" + std::to_string(i);
    int type = i < 64 ? u64 : static_cast<int>(r.stats);
    vars.push_back(must(btf__add_var(b, name.c_str(), BTF_VAR_GLOBAL_ALLOCATED, type), "var"));
  }
  r.data = static_cast<uint32_t>(must(btf__add_datasec(b, ".data", kDatasecSize), ".data"));
  for (uint32_t i = 0, off = 0; i < kDatasecVars; ++i) {
    uint32_t size = i < 64 ? 8 : kStatsSize;
    must(btf__add_datasec_var_info(b, vars[i], off, size), "var info");
    off += size;
  }
  r.bytes = ktstr::freeze::test::raw_of(b);
  return r;
}

struct Guest {
  FakeKernel k;
  BenchBtf btf = build_btf();
  BpfLayout layout;
  MapRef array, data;
  std::vector<uint8_t> array_bytes, data_bytes;  // what memcpy copies

  Guest() {
    const uint64_t btf_kva = k.place_btf(kBtfPa, btf.bytes);
    k.set_xa_head(k.node(kNodePa, 0));
    k.slot(kNodePa, 1, k.place_map(kArrayPa, {.id = 1, .value_size = kStatsSize,
                                              .max_entries = kArrayEntries, .btf = btf_kva,
                                              .value_type_id = btf.stats, .name = "stats"}));
    k.slot(kNodePa, 2, k.place_map(kDataPa, {.id = 2, .value_size = kDatasecSize, .max_entries = 1,
                                             .btf = btf_kva, .value_type_id = btf.data,
                                             .name = "bench.data"}));
    for (uint32_t i = 0; i < kArrayEntries * kStatsSize / 8; ++i)
      k.put(FakeKernel::elem_pa(kArrayPa, kStatsSize, 0) + i * 8, i * 7919ull, 8);
    for (uint32_t i = 0; i < kDatasecSize / 8; ++i)
      k.put(FakeKernel::elem_pa(kDataPa, kDatasecSize, 0) + i * 8, i * 104729ull, 8);
    k.boot();
    layout = *BpfLayout::from_btf(k.btf());
    auto maps = *ktstr::freeze::list_bpf_maps(k.space(), k.syms(), layout);
    array = maps.at(0);
    data = maps.at(1);
    array_bytes.resize(kArrayEntries * kStatsSize);
    data_bytes.resize(kDatasecSize);
  }
};

Guest& guest() {
  static Guest g;
  return g;
}

void dump(benchmark::State& state, const MapRef& ref, size_t bytes, bool cached_btf) {
  Guest& g = guest();
  MapBtfCache cache;
  for (auto _ : state) {
    if (!cached_btf) cache.clear();
    auto d = ktstr::freeze::dump_bpf_map(g.k.space(), g.k.reader(), g.layout, ref,
                                         {.max_entries = kArrayEntries}, &cache);
    if (!d.ok() || !d->note.empty()) {
      state.SkipWithError("dump failed");
      return;
    }
    benchmark::DoNotOptimize(d->value);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
}

void BM_RenderArray(benchmark::State& state) {
  dump(state, guest().array, kArrayEntries * kStatsSize, true);
}
BENCHMARK(BM_RenderArray);

void BM_RenderDatasec(benchmark::State& state) { dump(state, guest().data, kDatasecSize, true); }
BENCHMARK(BM_RenderDatasec);

// With the map's BTF copied out and parsed every time (the first map of
// each BPF object in a snapshot pays this).
void BM_RenderArrayColdBtf(benchmark::State& state) {
  dump(state, guest().array, kArrayEntries * kStatsSize, false);
}
BENCHMARK(BM_RenderArrayColdBtf);

// Baselines: the same bytes, copied.
void memcpy_of(benchmark::State& state, std::vector<uint8_t>& dst) {
  std::vector<uint8_t> src(dst.size(), 0x5a);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * dst.size()));
}
void BM_MemcpyArray(benchmark::State& state) { memcpy_of(state, guest().array_bytes); }
BENCHMARK(BM_MemcpyArray);
void BM_MemcpyDatasec(benchmark::State& state) { memcpy_of(state, guest().data_bytes); }
BENCHMARK(BM_MemcpyDatasec);

// For context: the guest-memory read alone (translation + bounds checks).
void BM_ReadArray(benchmark::State& state) {
  Guest& g = guest();
  for (auto _ : state) {
    if (!g.k.space().read(g.array.kva + ktstr::freeze::test::off::kValue, g.array_bytes).ok()) {
      state.SkipWithError("read failed");
      return;
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * g.array_bytes.size()));
}
BENCHMARK(BM_ReadArray);

using ktstr::bench::RatioReporter;

void ratio_line(const RatioReporter& r, const char* what, const char* render, const char* base) {
  double a = r.rate(render), b = r.rate(base);
  if (a > 0 && b > 0)
    std::printf("%s: render %.1f MB/s, memcpy %.1f MB/s, ratio %.4f\n", what, a / 1e6, b / 1e6,
                a / b);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                               : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  ratio_line(reporter, "array (1024 x struct stats, 32 KiB)", "BM_RenderArray", "BM_MemcpyArray");
  ratio_line(reporter, "datasec (80 vars, 1 KiB)", "BM_RenderDatasec", "BM_MemcpyDatasec");
  benchmark::Shutdown();
  return 0;
}
