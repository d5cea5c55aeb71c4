// Host-side cells for the guest's kernel addresses: publish-once values
// (first writer wins by compare-and-swap) and the KASLR offset derivation
// with its plausibility gates. The values come from an untrusted guest.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "util/result.h"

namespace ktstr::wire {

// Start of the canonical kernel half of the x86-64 address space.
constexpr uint64_t kKernelHalfStart = 0xffff800000000000ull;
// With 5-level paging (LA57, e.g. QEMU's -cpu max) the kernel half starts
// here and the direct map (page_offset_base) lives below kKernelHalfStart,
// at 0xff11000000000000 by default. Kernel text stays above kKernelHalfStart.
constexpr uint64_t kKernelHalfStartLa57 = 0xff00000000000000ull;
// Largest KASLR offset believed (the kernel randomises within 1 GiB).
constexpr uint64_t kMaxKaslrOffset = 1ull << 30;

// offset = runtime _text - link-time _text, or an error naming the gate that
// failed: link and runtime both in the kernel half, runtime >= link, offset
// <= 1 GiB. link_text 0 means "not configured".
Result<uint64_t> derive_kaslr_offset(uint64_t link_text, uint64_t runtime_text);

// A u64 set at most once; 0 is a valid value (stored biased by +1).
class PublishOnce {
 public:
  enum class Outcome { kPublished, kSame, kDiverged };
  // UINT64_MAX cannot be stored and is refused as kDiverged (the KERN_ADDRS
  // bias makes it impossible on the wire).
  Outcome publish(uint64_t v);
  std::optional<uint64_t> get() const;

 private:
  std::atomic<uint64_t> biased_{0};  // 0 = unset
};

struct KaslrCells {
  explicit KaslrCells(uint64_t link_text) : link_text(link_text) {}
  const uint64_t link_text;  // link-time _text from vmlinux; 0 = unknown
  PublishOnce phys_base;
  PublishOnce page_offset_base;
  PublishOnce kaslr_offset;
  std::atomic<uint64_t> divergence_errors{0};  // a later, different value
  std::atomic<uint64_t> rejected{0};           // values that failed a gate
};

}  // namespace ktstr::wire
