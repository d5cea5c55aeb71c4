#include "frames.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

namespace ktstr::guest::testing {

PipeCollector::PipeCollector() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe2 failed";
  read_.reset(fds[0]);
  write_.reset(fds[1]);
  reader_ = std::thread([this] {
    char buf[65536];
    ssize_t n;
    while ((n = ::read(read_.get(), buf, sizeof buf)) != 0) {
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      bytes_.append(buf, static_cast<size_t>(n));
    }
  });
}

PipeCollector::~PipeCollector() { finish(); }

const std::string& PipeCollector::finish() {
  write_.reset();
  if (reader_.joinable()) reader_.join();
  return bytes_;
}

std::vector<Frame> decode_frames(const std::string& bytes) {
  std::vector<Frame> out;
  size_t off = 0;
  while (off < bytes.size()) {
    if (bytes.size() - off < wire::kHeaderSize) {
      ADD_FAILURE() << "truncated header at offset " << off;
      break;
    }
    wire::FrameHeader h;
    std::memcpy(&h, bytes.data() + off, sizeof h);
    off += sizeof h;
    EXPECT_EQ(h.reserved, 0u);
    EXPECT_TRUE(wire::is_known(h.msg_type)) << std::hex << h.msg_type;
    if (h.length > bytes.size() - off) {
      ADD_FAILURE() << "truncated payload at offset " << off;
      break;
    }
    std::string payload = bytes.substr(off, h.length);
    off += h.length;
    EXPECT_EQ(h.crc32, wire::crc32_of(std::span<const uint8_t>(
                           reinterpret_cast<const uint8_t*>(payload.data()), payload.size())));
    out.push_back({static_cast<wire::MsgType>(h.msg_type), std::move(payload)});
  }
  return out;
}

std::string payloads_of(const std::vector<Frame>& frames, wire::MsgType type) {
  std::string s;
  for (const auto& f : frames)
    if (f.type == type) s += f.payload;
  return s;
}

}  // namespace ktstr::guest::testing
