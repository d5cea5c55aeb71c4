// Helpers shared by the wire tests: raw frame builders (including broken
// ones), a deterministic clock and captured log lines.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "wire/assembler.h"
#include "wire/protocol.h"
#include "wire/sinks.h"

namespace ktstr::wire::test {

using Bytes = std::vector<uint8_t>;

inline Bytes bytes_of(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A frame with every header field under the test's control.
inline Bytes raw_frame(uint32_t type, const Bytes& payload, uint32_t crc, uint32_t reserved = 0,
                       std::optional<uint32_t> length = std::nullopt) {
  Bytes out(kHeaderSize);
  encode_header({type, length.value_or(static_cast<uint32_t>(payload.size())), crc, reserved},
                out.data());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

inline Bytes good_frame(MsgType type, const Bytes& payload) { return encode_frame(type, payload); }

inline Bytes bad_crc_frame(MsgType type, const Bytes& payload) {
  return raw_frame(static_cast<uint32_t>(type), payload, crc32_of(payload) ^ 0xdeadbeef);
}

inline Frame make_frame(MsgType type, Bytes payload, bool crc_ok = true) {
  return Frame{static_cast<uint32_t>(type), std::move(payload), crc_ok};
}

inline void append(Bytes& to, const Bytes& from) { to.insert(to.end(), from.begin(), from.end()); }

// A manually advanced steady clock and a log capture, wired into Sinks.
struct TestEnv {
  using TimePoint = ScenarioTiming::TimePoint;
  TimePoint now{std::chrono::seconds(1000)};
  std::mutex mu;
  std::vector<std::string> log;
  std::unique_ptr<Sinks> sinks;

  explicit TestEnv(uint64_t link_text = 0, size_t queue_capacity = 256) {
    SinksConfig cfg;
    cfg.link_text = link_text;
    cfg.queue_capacity = queue_capacity;
    cfg.now = [this] { return now; };
    cfg.log = [this](std::string_view line) {
      std::lock_guard lock(mu);
      log.emplace_back(line);
    };
    auto s = Sinks::create(std::move(cfg));
    EXPECT_TRUE(s.ok());
    sinks = std::move(s).value();
  }
  size_t log_lines() {
    std::lock_guard lock(mu);
    return log.size();
  }
  bool log_contains(std::string_view needle) {
    std::lock_guard lock(mu);
    for (const auto& l : log)
      if (l.find(needle) != std::string::npos) return true;
    return false;
  }
};

// Feeds `stream` in random chunk sizes in [1, max_chunk].
inline std::vector<Frame> feed_randomly(Assembler& a, const Bytes& stream, uint32_t seed,
                                        size_t max_chunk) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> dist(1, max_chunk);
  std::vector<Frame> out;
  for (size_t off = 0; off < stream.size();) {
    size_t n = std::min(dist(rng), stream.size() - off);
    for (auto& f : a.feed(std::span(stream).subspan(off, n))) out.push_back(std::move(f));
    off += n;
  }
  return out;
}

inline Bytes random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

}  // namespace ktstr::wire::test
