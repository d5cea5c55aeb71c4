// Assembler throughput (framing + CRC-32 + copy into the frame's payload)
// for 64 KiB frames fed in 4 KiB chunks, beside a plain memcpy of the same
// bytes in the same chunks, measured in the same run. Prints the
// assembler/memcpy bandwidth ratio at the end (goal: >= 0.5).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "wire/assembler.h"
#include "wire/detail/crc32.h"
#include "wire/dispatcher.h"
#include "wire/protocol.h"

#include "../ratio_reporter.h"

namespace {

using ktstr::wire::Assembler;
using ktstr::wire::Frame;
using ktstr::wire::MsgType;

constexpr size_t kFramePayload = 64u << 10;
constexpr size_t kChunk = 4u << 10;
constexpr size_t kFrames = 8;  // a ~512 KiB stream: stays in L2 for both loops

const std::vector<uint8_t>& stream() {
  static const std::vector<uint8_t> s = [] {
    std::mt19937 rng(1);
    std::vector<uint8_t> payload(kFramePayload), out;
    for (size_t i = 0; i < kFrames; ++i) {
      for (auto& b : payload) b = static_cast<uint8_t>(rng());
      auto f = ktstr::wire::encode_frame(MsgType::kStdout, payload);
      out.insert(out.end(), f.begin(), f.end());
    }
    return out;
  }();
  return s;
}

void BM_Assembler(benchmark::State& state) {
  const auto& s = stream();
  Assembler a;
  size_t frames = 0;
  auto sink = [&frames](Frame&& f) {
    benchmark::DoNotOptimize(f.payload.data());
    frames += f.crc_ok;
  };
  for (auto _ : state) {
    for (size_t off = 0; off < s.size(); off += kChunk)
      a.feed(std::span(s).subspan(off, std::min(kChunk, s.size() - off)), sink);
  }
  if (frames != kFrames * state.iterations()) state.SkipWithError("frames lost or corrupt");
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
}
BENCHMARK(BM_Assembler);

// The baseline: copy the same chunks into a 64 KiB frame-sized buffer.
void BM_Memcpy(benchmark::State& state) {
  const auto& s = stream();
  std::vector<uint8_t> dst(kFramePayload);
  for (auto _ : state) {
    for (size_t off = 0; off < s.size(); off += kChunk) {
      size_t n = std::min(kChunk, s.size() - off);
      std::memcpy(dst.data() + off % (kFramePayload - kChunk + 1), s.data() + off, n);
      benchmark::ClobberMemory();
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
}
BENCHMARK(BM_Memcpy);

// For context: the CRC alone, accelerated and zlib.
void BM_Crc32(benchmark::State& state, ktstr::wire::detail::CrcImpl impl) {
  if (!ktstr::wire::detail::crc_impl_supported(impl)) {
    state.SkipWithError("not supported on this CPU");
    return;
  }
  const auto& s = stream();
  for (auto _ : state)
    benchmark::DoNotOptimize(ktstr::wire::detail::crc32_with(impl, 0, s.data(), kFramePayload));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kFramePayload));
}
BENCHMARK_CAPTURE(BM_Crc32, vpclmul512, ktstr::wire::detail::CrcImpl::kVpclmul512);
BENCHMARK_CAPTURE(BM_Crc32, pclmul, ktstr::wire::detail::CrcImpl::kPclmul);
BENCHMARK_CAPTURE(BM_Crc32, zlib, ktstr::wire::detail::CrcImpl::kZlib);

// Assembler + dispatcher, as the host runs them (STDOUT frames are verdict
// data, so this includes moving each payload into a VerdictEntry).
void BM_AssembleAndDispatch(benchmark::State& state) {
  const auto& s = stream();
  ktstr::wire::SinksConfig cfg;
  cfg.log = [](std::string_view) {};
  auto sinks = ktstr::wire::Sinks::create(std::move(cfg));
  if (!sinks.ok()) {
    state.SkipWithError("cannot create sinks");
    return;
  }
  Assembler a;
  auto sink = [&](Frame&& f) {
    auto v = ktstr::wire::dispatch(std::move(f), **sinks);
    benchmark::DoNotOptimize(v);
  };
  for (auto _ : state)
    for (size_t off = 0; off < s.size(); off += kChunk)
      a.feed(std::span(s).subspan(off, std::min(kChunk, s.size() - off)), sink);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * s.size()));
}
BENCHMARK(BM_AssembleAndDispatch);

using ktstr::bench::RatioReporter;

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf("wire CRC-32 implementation: %s\n",
              ktstr::wire::detail::crc_impl_name(ktstr::wire::detail::best_crc_impl()));
  // Colour only on a terminal (a custom reporter ignores --benchmark_color).
  RatioReporter reporter(isatty(STDOUT_FILENO) ? benchmark::ConsoleReporter::OO_ColorTabular
                                               : benchmark::ConsoleReporter::OO_Tabular);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  double asm_rate = reporter.rate("BM_Assembler");
  double mem_rate = reporter.rate("BM_Memcpy");
  if (asm_rate > 0 && mem_rate > 0) {
    std::printf("assembler: %.2f GB/s, memcpy: %.2f GB/s (64 KiB frames, 4 KiB chunks)\n",
                asm_rate / 1e9, mem_rate / 1e9);
    std::printf("assembler/memcpy bandwidth ratio: %.2f (goal >= 0.50)\n", asm_rate / mem_rate);
  }
  benchmark::Shutdown();
  return 0;
}
