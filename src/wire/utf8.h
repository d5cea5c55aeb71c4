// Strict UTF-8 validation and sanitising for guest-supplied text (tags).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace ktstr::wire {

// RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view s);

// Returns valid UTF-8 of at most max_bytes: every byte that does not start a
// valid sequence becomes U+FFFD, and the cut falls between characters, never
// inside one (so the result may be up to 3 bytes shorter than max_bytes).
std::string sanitize_utf8(std::string_view s, size_t max_bytes);

}  // namespace ktstr::wire
