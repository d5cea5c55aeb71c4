// Number and text helpers for check messages (internal): short numbers
// without trailing zeros, never "nan", and guest text made one-line.
#pragma once

#include <string>
#include <string_view>

namespace ktstr::check::detail {

// At most `decimals` decimals, trailing zeros dropped: 2000 -> "2000",
// 2.50 -> "2.5", 1/3 -> "0.333". inf -> "inf", NaN -> "n/a".
std::string num(double v, int decimals = 3);
// Exactly `decimals` decimals ("12.0"); NaN -> "n/a".
std::string fixed(double v, int decimals);
// Control characters become spaces, at most `max` bytes (with "...").
std::string one_line(std::string_view s, size_t max = 200);

}  // namespace ktstr::check::detail
