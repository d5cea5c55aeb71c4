// libFuzzer target: hostile guest bytes through the host's wire path
// (assembler + dispatcher with real sinks), fed in chunks whose sizes come
// from the input.
//
// Input: [flags][n][n chunk sizes][stream...]
//   flags bit 0: rewrite the CRC of every frame found by walking the stream,
//                so the fuzzer reaches the CRC-valid rules easily;
//   flags bit 1: max_payload 64 instead of 16 MiB (more framing errors).
//   chunk sizes cycle; 0 means 1.
//
// Oracles, besides ASan/UBSan: chunked and one-shot feeding give identical
// frames and stats; the accelerated CRC equals zlib's; memory stays bounded;
// coordinator-internal types never reach the verdict; queued kernel-op tags
// are valid UTF-8 of <= 256 bytes; decoders round-trip what they accept.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "wire/assembler.h"
#include "wire/detail/le.h"
#include "wire/dispatcher.h"
#include "wire/messages.h"
#include "wire/utf8.h"

namespace {

using namespace ktstr::wire;

#define CHECK(cond)                                                                     \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "fuzz_wire: check failed: %s (line %d)\n", #cond, __LINE__); \
      __builtin_trap();                                                                 \
    }                                                                                   \
  } while (0)

void fix_crcs(std::vector<uint8_t>& s, uint32_t max_payload) {
  size_t pos = 0;
  while (pos + kHeaderSize <= s.size()) {
    FrameHeader h = decode_header(s.data() + pos);
    size_t avail = s.size() - pos - kHeaderSize;
    if (h.reserved != 0 || h.length > max_payload) {
      ++pos;
      continue;
    }
    size_t len = std::min<size_t>(h.length, avail);
    h.crc32 =
        static_cast<uint32_t>(::crc32(0, s.data() + pos + kHeaderSize, static_cast<uInt>(len)));
    encode_header(h, s.data() + pos);
    pos += kHeaderSize + len;
  }
}

bool same(const std::vector<Frame>& a, const std::vector<Frame>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].msg_type != b[i].msg_type || a[i].payload != b[i].payload ||
        a[i].crc_ok != b[i].crc_ok)
      return false;
  return true;
}

template <typename Decode, typename Encode>
void round_trip(std::span<const uint8_t> p, Decode decode, Encode encode_fn) {
  auto m = decode(p);
  if (!m.ok()) return;
  Bytes again = encode_fn(*m);
  CHECK(again.size() == p.size() && std::equal(again.begin(), again.end(), p.begin()));
}

template <typename T>
Bytes value_or_trap(ktstr::Result<T> r) {
  CHECK(r.ok());  // decode accepted it, so encode must too
  return std::move(r).value();
}

// Runs the decoder of the frame's type (and a second one chosen by the type
// bits, so decoders also see payloads meant for other types).
void check_decoders(uint32_t type, std::span<const uint8_t> p) {
  static constexpr MsgType kDecodable[] = {MsgType::kKernAddrs,       MsgType::kExit,
                                           MsgType::kLifecycle,       MsgType::kStimulus,
                                           MsgType::kScenarioStart,   MsgType::kSchedExit,
                                           MsgType::kSnapshotRequest, MsgType::kSnapshotReply,
                                           MsgType::kKernelOpRequest, MsgType::kKernelOpReply};
  MsgType other = kDecodable[(type ^ (type >> 16)) % std::size(kDecodable)];
  for (MsgType t : {static_cast<MsgType>(type), other}) {
    switch (t) {
      case MsgType::kKernAddrs:
        round_trip(p, decode_kern_addrs, [](const KernAddrs& m) { return encode(m); });
        break;
      case MsgType::kExit:
        round_trip(p, decode_exit, [](const ExitStatus& m) { return encode(m); });
        break;
      case MsgType::kLifecycle:
        round_trip(p, decode_lifecycle, [](const Lifecycle& m) { return encode(m); });
        break;
      case MsgType::kStimulus:
        round_trip(p, decode_stimulus, [](const Stimulus& m) { return encode(m); });
        break;
      case MsgType::kScenarioStart:
        round_trip(p, decode_scenario_start,
                   [](const ScenarioStart& m) { return value_or_trap(encode(m)); });
        break;
      case MsgType::kSchedExit:
        round_trip(p, decode_sched_exit, [](const SchedExit& m) { return encode(m); });
        break;
      case MsgType::kSnapshotReply:
        round_trip(p, decode_snapshot_reply, [](const SnapshotReply& m) { return encode(m); });
        break;
      case MsgType::kKernelOpRequest:
        round_trip(p, decode_kernel_op_request,
                   [](const KernelOpRequest& m) { return value_or_trap(encode(m)); });
        break;
      case MsgType::kKernelOpReply:
        round_trip(p, decode_kernel_op_reply, [](const KernelOpReply& m) { return encode(m); });
        break;
      case MsgType::kSnapshotRequest:
        // Not canonical (padding is ignored), so check validity instead.
        if (auto s = decode_snapshot_request(p); s.ok()) {
          CHECK(s->request_id != 0 && s->tag.size() <= kSnapshotTagMax);
          CHECK(decode_snapshot_request(value_or_trap(encode(*s))).ok());
        }
        break;
      default:
        break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const size_t nchunks = data[1] % 16;
  if (size < 2 + nchunks) return 0;
  const uint8_t* chunk_sizes = data + 2;
  std::vector<uint8_t> stream(data + 2 + nchunks, data + size);

  AssemblerLimits limits;
  if (flags & 2) limits.max_payload = 64;
  if (flags & 1) fix_crcs(stream, limits.max_payload);

  // The accelerated CRC must agree with zlib on arbitrary bytes.
  CHECK(crc32_of(stream) ==
        static_cast<uint32_t>(::crc32(0, stream.data(), static_cast<uInt>(stream.size()))));

  // Chunked feed.
  Assembler chunked(limits);
  std::vector<Frame> frames;
  size_t max_buffered = 0;
  for (size_t off = 0, i = 0; off < stream.size(); ++i) {
    size_t n = nchunks ? chunk_sizes[i % nchunks] : stream.size();
    n = std::min(std::max<size_t>(n, 1), stream.size() - off);
    chunked.feed(std::span(stream).subspan(off, n),
                 [&](Frame&& f) { frames.push_back(std::move(f)); });
    max_buffered = std::max(max_buffered, chunked.buffered());
    off += n;
  }
  CHECK(max_buffered <= limits.max_payload + Assembler::kScanWindow + kHeaderSize);

  // One-shot feed must agree exactly.
  Assembler whole(limits);
  std::vector<Frame> frames_whole = whole.feed(stream);
  CHECK(same(frames, frames_whole));
  const AssemblerStats& a = chunked.stats();
  const AssemblerStats& b = whole.stats();
  CHECK(a.frames == b.frames && a.bytes == b.bytes && a.crc_failures == b.crc_failures &&
        a.framing_errors == b.framing_errors && a.resync_bytes_dropped == b.resync_bytes_dropped);
  CHECK(a.frames == frames.size() && a.bytes == stream.size());
  CHECK(chunked.buffered() == whole.buffered());

  for (const Frame& f : frames) {
    CHECK(f.payload.size() <= limits.max_payload);
    CHECK(crc32_of(f.payload) ==
          static_cast<uint32_t>(::crc32(0, f.payload.data(), static_cast<uInt>(f.payload.size()))));
    check_decoders(f.msg_type, f.payload);
  }

  // Dispatch through real sinks (deterministic clock, silent log).
  SinksConfig cfg;
  cfg.link_text = 0xffffffff81000000;
  cfg.queue_capacity = 8;
  int64_t ticks = 0;
  cfg.now = [&ticks] { return ScenarioTiming::TimePoint(std::chrono::milliseconds(ticks++)); };
  cfg.log = [](std::string_view) {};
  auto sinks = Sinks::create(std::move(cfg));
  CHECK(sinks.ok());
  Sinks& s = **sinks;
  for (Frame& f : frames) {
    uint32_t type = f.msg_type;
    auto v = dispatch(std::move(f), s);
    if (v) {
      CHECK(is_known(type) && !is_coordinator_internal(static_cast<MsgType>(type)));
      CHECK(v->msg_type == type);
    }
  }
  while (auto r = s.kernel_op_requests.try_pop()) {
    CHECK(r->tag.size() <= kKernelOpTagMax);
    CHECK(is_valid_utf8(r->tag));
  }
  while (auto r = s.snapshot_requests.try_pop()) CHECK(r->request_id != 0);
  if (auto off = s.kaslr.kaslr_offset.get()) CHECK(*off <= kMaxKaslrOffset);
  return 0;
}

// With KTSTR_FUZZ_SEED_DIR set, writes one valid seed per message type (and
// a stream of all of them) there first, so the fuzzer starts from real
// frames instead of discovering tags and CRCs from scratch.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("KTSTR_FUZZ_SEED_DIR");
  if (!dir) return 0;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  auto ok = [](auto r) { return r.ok() ? std::move(r).value() : Bytes{}; };
  std::vector<std::pair<MsgType, Bytes>> seeds = {
      {MsgType::kSysRdy, {}},
      {MsgType::kKernAddrs, encode(KernAddrs{0x1000000, 0xffff888000000000, 0xffffffff82000000})},
      {MsgType::kSchedExit, encode(SchedExit{1, "stall"})},
      {MsgType::kScenarioStart, ok(encode(ScenarioStart{2000, "seed"}))},
      {MsgType::kScenarioPause, {}},
      {MsgType::kScenarioResume, {}},
      {MsgType::kScenarioEnd, {}},
      {MsgType::kStimulus, encode(Stimulus{1, 2, 3, 4, 5, 6})},
      {MsgType::kTestResult, Bytes{'{', '}'}},
      {MsgType::kExit, encode(ExitStatus{0})},
      {MsgType::kCrash, Bytes{'x'}},
      {MsgType::kPayloadMetrics, Bytes{'{', '}'}},
      {MsgType::kStdout, Bytes{'o', 'u', 't'}},
      {MsgType::kStderr, Bytes{'e', 'r', 'r'}},
      {MsgType::kSchedLog, Bytes{'l'}},
      {MsgType::kLifecycle, encode(Lifecycle{LifecyclePhase::kMounted, "m"})},
      {MsgType::kDmesg, Bytes{'d'}},
      {MsgType::kKallsyms, Bytes{0x28, 0xb5, 0x2f, 0xfd}},
      {MsgType::kSnapshotRequest, ok(encode(SnapshotRequest{1, SnapshotKind::kWatch, "w"}))},
      {MsgType::kSnapshotReply, encode(SnapshotReply{1, 0, ""})},
      {MsgType::kKernelOpRequest,
       ok(encode(KernelOpRequest{1, KernelOp::kRead, KernelTarget::kSymbol, 8, 0, 0, 0, 0,
                                 "jiffies", "", "tag\xF0\x9F\x98\x80"}))},
      {MsgType::kKernelOpReply, encode(KernelOpReply{1, 0, 5, ""})},
  };
  Bytes all = {1, 1, 7};  // flags: fix CRCs; one chunk size: 7
  for (auto& [type, payload] : seeds) {
    Bytes one = {1, 1, 5};
    Bytes f = encode_frame(type, payload);
    one.insert(one.end(), f.begin(), f.end());
    all.insert(all.end(), f.begin(), f.end());
    std::ofstream(fs::path(dir) / ("seed-" + std::string(type_name(static_cast<uint32_t>(type)))),
                  std::ios::binary)
        .write(reinterpret_cast<const char*>(one.data()), static_cast<std::streamsize>(one.size()));
  }
  std::ofstream(fs::path(dir) / "seed-all", std::ios::binary)
      .write(reinterpret_cast<const char*>(all.data()), static_cast<std::streamsize>(all.size()));
  return 0;
}
