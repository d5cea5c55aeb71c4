#include "util/percentile.h"

#include <algorithm>
#include <cstddef>

namespace ktstr {

uint64_t percentile(std::vector<uint64_t> v, uint32_t pct) {
  if (v.empty()) return 0;
  pct = std::clamp<uint32_t>(pct, 1, 100);
  // Rank ceil(n * pct / 100) in integers, so p99 of 100 samples is the 99th.
  const uint64_t n = v.size();
  const uint64_t rank = std::max<uint64_t>(1, (n * pct + 99) / 100);
  auto nth = v.begin() + static_cast<std::ptrdiff_t>(rank - 1);
  std::nth_element(v.begin(), nth, v.end());
  return *nth;
}

}  // namespace ktstr
