// Nearest-rank percentile: an observed sample, never an interpolation, so
// "p99 latency 5.4 ms" is a latency that really happened.
#pragma once

#include <cstdint>
#include <vector>

namespace ktstr {

// Percentile `pct` (clamped to 1..100) of a copy of `v`: the sample of rank
// ceil(n * pct / 100). 0 for an empty vector.
uint64_t percentile(std::vector<uint64_t> v, uint32_t pct);

}  // namespace ktstr
