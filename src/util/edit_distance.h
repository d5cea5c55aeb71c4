// Levenshtein distance, for "did you mean ..." hints in error messages.
#pragma once

#include <cstddef>
#include <string_view>

namespace ktstr {

size_t edit_distance(std::string_view a, std::string_view b);

}  // namespace ktstr
