// The built-in definition files (src/scheduler/builtin/*.toml), compiled in
// by cmake/EmbedTexts.cmake.
#pragma once

#include <span>
#include <string_view>

namespace ktstr::scheduler::detail {

struct EmbeddedFile {
  std::string_view name;  // file name, e.g. "scx_simple.toml"
  std::string_view text;
};

std::span<const EmbeddedFile> embedded_builtins();

}  // namespace ktstr::scheduler::detail
