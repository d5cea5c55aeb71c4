// Version ordering for kernel releases and Debian package versions, using
// dpkg's algorithm ("6.12.117+deb13" < "7.2.13+deb14", "1.0~rc1" < "1.0").
#pragma once

#include <string_view>

namespace ktstr::kernel {

// <0, 0, >0 like strcmp. Accepts [epoch:]upstream[-revision].
int compare_versions(std::string_view a, std::string_view b);

// `prefix` starts `version` at a component boundary: "7.2" matches
// "7.2.13+deb14" but "7.2.1" does not match "7.2.13".
bool version_has_prefix(std::string_view version, std::string_view prefix);

}  // namespace ktstr::kernel
