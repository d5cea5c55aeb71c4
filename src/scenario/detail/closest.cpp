#include "scenario/detail/closest.h"

#include "util/edit_distance.h"

#include <algorithm>

namespace ktstr::scenario::detail {

std::string closest(std::string_view word, const std::vector<std::string>& candidates) {
  // Close enough: a third of the word's letters off, or one a prefix of the other.
  const size_t limit = std::max<size_t>(1, word.size() / 3);
  std::string best;
  size_t best_d = limit + 1;
  for (const auto& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d >= word.size()) continue;  // "b" is not a typo of "a"
    size_t shorter = std::min(word.size(), c.size());
    bool prefix = shorter >= 3 && word.substr(0, shorter) == std::string_view(c).substr(0, shorter);
    if (prefix) d = std::min<size_t>(d, 1);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

}  // namespace ktstr::scenario::detail
