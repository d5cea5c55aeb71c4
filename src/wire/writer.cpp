#include "wire/writer.h"

#include <poll.h>
#include <sys/uio.h>

#include <cerrno>
#include <string>

namespace ktstr::wire {
namespace {

bool is_stream(MsgType t) {
  return t == MsgType::kStdout || t == MsgType::kStderr || t == MsgType::kSchedLog ||
         t == MsgType::kDmesg;
}

// Waits for POLLOUT after EAGAIN.
Status wait_writable(int fd) {
  pollfd p{fd, POLLOUT, 0};
  for (;;) {
    int r = ::poll(&p, 1, static_cast<int>(kWriteStallTimeout.count()));
    if (r > 0) return {};
    if (r == 0) return timeout_error("wire port accepted nothing for 30 s; is the host reading?");
    if (errno != EINTR) return io_error("poll on wire port");
  }
}

Status writev_all(int fd, iovec* iov, int count) {
  while (count > 0) {
    ssize_t n = ::writev(fd, iov, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        KTSTR_TRY(wait_writable(fd));
        continue;
      }
      return io_error("writev on wire port");
    }
    // Skip what was written; a short write can end mid-iovec.
    auto done = static_cast<size_t>(n);
    while (count > 0 && done >= iov->iov_len) {
      done -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<uint8_t*>(iov->iov_base) + done;
      iov->iov_len -= done;
    }
  }
  return {};
}

}  // namespace

Status write_frame(int fd, MsgType type, std::span<const uint8_t> payload) {
  if (payload.size() > kMaxPayload)
    return invalid_argument(std::string(type_name(static_cast<uint32_t>(type))) + " payload of " +
                            std::to_string(payload.size()) +
                            " bytes exceeds the 16 MiB frame limit; split it");
  uint8_t header[kHeaderSize];
  encode_header(
      {static_cast<uint32_t>(type), static_cast<uint32_t>(payload.size()), crc32_of(payload), 0},
      header);
  iovec iov[2] = {{header, kHeaderSize}, {const_cast<uint8_t*>(payload.data()), payload.size()}};
  KTSTR_TRY(writev_all(fd, iov, payload.empty() ? 1 : 2),
            "writing " + std::string(type_name(static_cast<uint32_t>(type))) + " frame");
  return {};
}

namespace {

template <typename WriteOne>
Status split_stream(MsgType type, std::span<const uint8_t> data, size_t max_chunk,
                    WriteOne&& write_one) {
  if (!is_stream(type))
    return invalid_argument(std::string(type_name(static_cast<uint32_t>(type))) +
                            " is not a stream type; only STDOUT, STDERR, SCHED_LOG and DMESG "
                            "can be split");
  if (max_chunk == 0 || max_chunk > kMaxPayload)
    return invalid_argument("max_chunk must be between 1 and 16 MiB");
  for (size_t off = 0; off < data.size(); off += max_chunk)
    KTSTR_TRY(write_one(data.subspan(off, std::min(max_chunk, data.size() - off))));
  return {};
}

}  // namespace

Status write_stream(int fd, MsgType type, std::span<const uint8_t> data, size_t max_chunk) {
  return split_stream(type, data, max_chunk,
                      [&](std::span<const uint8_t> c) { return write_frame(fd, type, c); });
}

Status FrameWriter::write(MsgType type, std::span<const uint8_t> payload) {
  std::lock_guard lock(mu_);
  return write_frame(fd_, type, payload);
}

Status FrameWriter::write_stream(MsgType type, std::span<const uint8_t> data, size_t max_chunk) {
  return split_stream(type, data, max_chunk,
                      [&](std::span<const uint8_t> c) { return write(type, c); });
}

}  // namespace ktstr::wire
