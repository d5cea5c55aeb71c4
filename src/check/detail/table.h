// Aligned plain-text tables for show-thresholds and the verdict details
// (internal).
#pragma once

#include <string>
#include <vector>

namespace ktstr::check::detail {

// Rows of cells; the first row is the header. Columns are separated by two
// spaces; `right[i]` right-aligns column i (numbers). Each line starts with
// `indent` and ends with '\n', without trailing spaces.
std::string render_table(const std::vector<std::vector<std::string>>& rows,
                         const std::vector<bool>& right = {}, const std::string& indent = "");

}  // namespace ktstr::check::detail
