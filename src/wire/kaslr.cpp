#include "wire/kaslr.h"

#include <cstdio>
#include <limits>
#include <string>

namespace ktstr::wire {
namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Result<uint64_t> derive_kaslr_offset(uint64_t link_text, uint64_t runtime_text) {
  if (link_text == 0) return not_found("link-time _text is unknown; offset not derivable");
  if (link_text < kKernelHalfStart)
    return protocol_error("link-time _text " + hex(link_text) + " is below the kernel half");
  if (runtime_text < kKernelHalfStart)
    return protocol_error("runtime _text " + hex(runtime_text) + " is below the kernel half");
  if (runtime_text < link_text)
    return protocol_error("runtime _text " + hex(runtime_text) + " is below link-time _text " +
                          hex(link_text));
  uint64_t offset = runtime_text - link_text;
  if (offset > kMaxKaslrOffset)
    return protocol_error("KASLR offset " + hex(offset) + " exceeds 1 GiB");
  return offset;
}

PublishOnce::Outcome PublishOnce::publish(uint64_t v) {
  if (v == std::numeric_limits<uint64_t>::max()) return Outcome::kDiverged;  // not storable
  uint64_t expected = 0;
  if (biased_.compare_exchange_strong(expected, v + 1, std::memory_order_acq_rel))
    return Outcome::kPublished;
  return expected == v + 1 ? Outcome::kSame : Outcome::kDiverged;
}

std::optional<uint64_t> PublishOnce::get() const {
  uint64_t b = biased_.load(std::memory_order_acquire);
  return b ? std::optional<uint64_t>(b - 1) : std::nullopt;
}

}  // namespace ktstr::wire
