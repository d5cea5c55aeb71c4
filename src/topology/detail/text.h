// Strict number parsing and error-text helpers shared by the topology parsers
// (internal).
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ktstr::topo::detail {

// Whole-string unsigned decimal; nullopt on empty, sign, junk or overflow.
inline std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// Whole-string non-negative decimal fraction like "0.5", "1", ".25".
inline std::optional<double> parse_fraction(std::string_view s) {
  double v = 0;
  if (s.empty() || (s.front() != '.' && (s.front() < '0' || s.front() > '9'))) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

// User text echoed into a one-line error: control characters become spaces.
inline std::string one_line(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

}  // namespace ktstr::topo::detail
