# Writes a .cpp holding every scenarios/*.toml file as a raw string literal,
# so the catalog is compiled into ktstr_scenario_model (see catalog.h).
# Usage: cmake -DDIR=<scenarios dir> -DOUT=<generated .cpp> -P embed_catalog.cmake
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
  set(table "std::span<const EmbeddedScenario> embedded_catalog() { return {}; }\n")
else()
  set(table "namespace {\nconstexpr EmbeddedScenario kFiles[] = {\n${entries}};\n}  // namespace\n\nstd::span<const EmbeddedScenario> embedded_catalog() { return kFiles; }\n")
endif()
set(content "// Generated from scenarios/*.toml by src/scenario/embed_catalog.cmake; do not edit.
#include \"scenario/catalog.h\"

namespace ktstr::scenario {

${table}
}  // namespace ktstr::scenario
")
# Rewrite only on change, so an unchanged catalog does not trigger a rebuild.
file(WRITE "${OUT}.tmp" "${content}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
