#include "check/context.h"

#include <algorithm>

namespace ktstr::check {

double default_time_scale(bool emulated, uint32_t cpus) {
  if (!emulated) return 1.0;
  // A vCPU can wait one round-robin turn of every other vCPU (100 ms each
  // under thread=single); half the vCPU count on top of a floor of 4 covers
  // that with room for the emulation slowdown.
  return std::max(4.0, static_cast<double>(cpus) / 2.0);
}

}  // namespace ktstr::check
