// "Did you mean ...?" suggestions for misspelt keys, ops and names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ktstr::scenario::detail {

// The closest of `candidates` to `word` within a small edit distance, or "".
std::string closest(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace ktstr::scenario::detail
