// Test helper shared by the parser tests: where a piece of text sits, in
// the "LINE:COL" form the TOML parsers' error messages use.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace ktstr::test_text {

// "LINE:COL" (1-based) of the first `needle` in `text` at or after the
// first `after` (from the start when `after` is empty).
inline std::string loc(std::string_view text, std::string_view needle, std::string_view after = "") {
  const size_t start = after.empty() ? 0 : text.find(after);
  const size_t at = text.find(needle, start == std::string_view::npos ? 0 : start);
  EXPECT_NE(at, std::string_view::npos) << needle;
  size_t line = 1, col = 1;
  for (size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

}  // namespace ktstr::test_text
