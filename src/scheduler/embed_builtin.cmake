# Writes a .cpp holding every builtin/*.toml file as a raw string literal, so
# the built-in scheduler definitions are compiled into ktstr_scheduler.
# Usage: cmake -DDIR=<builtin dir> -DOUT=<generated .cpp> -P embed_builtin.cmake
file(GLOB files RELATIVE "${DIR}" "${DIR}/*.toml")
list(SORT files)
set(delim "ktstr_toml")
set(entries "")
foreach(f IN LISTS files)
  file(READ "${DIR}/${f}" text)
  string(FIND "${text}" ")${delim}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${DIR}/${f} contains ')${delim}\"', which ends the raw string; remove it")
  endif()
  string(APPEND entries "    {\"${f}\", R\"${delim}(${text})${delim}\"},\n")
endforeach()
if(entries STREQUAL "")
  message(FATAL_ERROR "no built-in scheduler definitions in ${DIR}")
endif()
set(content "// Generated from src/scheduler/builtin/*.toml by embed_builtin.cmake; do not edit.
#include \"scheduler/detail/embedded.h\"

namespace ktstr::scheduler::detail {

namespace {
constexpr EmbeddedFile kFiles[] = {
${entries}};
}  // namespace

std::span<const EmbeddedFile> embedded_builtins() { return kFiles; }

}  // namespace ktstr::scheduler::detail
")
# Rewrite only on change, so unchanged files do not trigger a rebuild.
file(WRITE "${OUT}.tmp" "${content}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
