#include "wire/assembler.h"

#include <algorithm>

namespace ktstr::wire {
namespace {

// A header may claim up to max_payload bytes before sending any of them;
// reserve only this much up front and let real data grow the buffer.
constexpr size_t kInitialReserve = 64u << 10;

}  // namespace

Assembler::Assembler(AssemblerLimits limits) : limits_(limits) {}

// In sync, any header with reserved == 0 and length <= max_payload starts a
// frame (unknown types too: the dispatcher warns about them). Anything else
// is a framing error and starts a resync, during which a header must also
// carry a known type to count as plausible. Each rejected offset drops one
// byte.
bool Assembler::accept_header(const uint8_t* p) {
  FrameHeader h = decode_header(p);
  bool ok =
      h.reserved == 0 && h.length <= limits_.max_payload && (!resyncing_ || is_known(h.msg_type));
  if (ok) {
    resyncing_ = false;
    header_ = h;
    return true;
  }
  if (!resyncing_) {
    ++stats_.framing_errors;
    resyncing_ = true;
  }
  ++stats_.resync_bytes_dropped;
  return false;
}

void Assembler::feed(std::span<const uint8_t> bytes, const FrameSink& on_frame) {
  stats_.bytes += bytes.size();
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  while (n > 0) {
    if (in_frame_) {
      size_t used = take_payload(p, n, on_frame);
      p += used;
      n -= used;
      continue;
    }
    // Fast path: parse headers straight from the caller's buffer.
    if (pending_.empty() && !resyncing_ && n >= kHeaderSize) {
      if (accept_header(p)) {
        p += kHeaderSize;
        n -= kHeaderSize;
        begin_frame(on_frame);
      } else {
        p += 1;
        n -= 1;
      }
      continue;
    }
    // Slow path: a header split across chunks, or scanning for a plausible
    // header. Stage a bounded slice and parse from there.
    size_t room = resyncing_ ? kScanWindow : kHeaderSize - pending_.size();
    size_t take = std::min(n, room);
    pending_.insert(pending_.end(), p, p + take);
    p += take;
    n -= take;
    scan_pending(on_frame);
  }
}

std::vector<Frame> Assembler::feed(std::span<const uint8_t> bytes) {
  std::vector<Frame> out;
  feed(bytes, [&out](Frame&& f) { out.push_back(std::move(f)); });
  return out;
}

void Assembler::scan_pending(const FrameSink& on_frame) {
  size_t off = 0;
  for (;;) {
    const uint8_t* p = pending_.data() + off;
    size_t avail = pending_.size() - off;
    if (in_frame_) {
      if (avail == 0) break;
      off += take_payload(p, avail, on_frame);
    } else if (avail < kHeaderSize) {
      break;
    } else if (accept_header(p)) {
      off += kHeaderSize;
      begin_frame(on_frame);
    } else {
      off += 1;
    }
  }
  // At most 15 bytes remain: move them to the front once, not per byte.
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<ptrdiff_t>(off));
}

void Assembler::begin_frame(const FrameSink& on_frame) {
  in_frame_ = true;
  payload_.clear();
  payload_.reserve(std::min<size_t>(header_.length, kInitialReserve));
  crc_.reset();
  crc_done_ = 0;
  if (header_.length == 0) finish_frame(on_frame);
}

// The CRC is folded from the caller's bytes before they are copied: the fold
// pulls them into L1, so the copy is cheap (measured: ~25% faster than
// copying first and folding the copy). payload_[crc_done_, size()) holds the
// bytes of a partial fold block, completed first.
size_t Assembler::take_payload(const uint8_t* p, size_t n, const FrameSink& on_frame) {
  const size_t take = std::min<size_t>(header_.length - payload_.size(), n);
  size_t head = 0;
  if (crc_done_ != payload_.size()) {
    head = std::min(take, detail::CrcFolder::kBlock - (payload_.size() - crc_done_));
    payload_.insert(payload_.end(), p, p + head);
    crc_done_ += crc_.fold(payload_.data() + crc_done_, payload_.size() - crc_done_);
  }
  if (head < take) {  // here crc_done_ == payload_.size(): fold straight from p
    size_t folded = crc_done_ == payload_.size() ? crc_.fold(p + head, take - head) : 0;
    payload_.insert(payload_.end(), p + head, p + take);
    crc_done_ += folded;
  }
  if (payload_.size() == header_.length) finish_frame(on_frame);
  return take;
}

void Assembler::finish_frame(const FrameSink& on_frame) {
  Frame f;
  f.msg_type = header_.msg_type;
  f.crc_ok = crc_.finish(payload_.data() + crc_done_, payload_.size() - crc_done_) == header_.crc32;
  f.payload = std::move(payload_);
  payload_ = {};
  in_frame_ = false;
  ++stats_.frames;
  if (!f.crc_ok) ++stats_.crc_failures;
  on_frame(std::move(f));
}

}  // namespace ktstr::wire
