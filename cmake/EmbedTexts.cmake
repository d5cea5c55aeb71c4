# Writes a .cpp holding every DIR/*.toml file as a raw string literal, so data
# files (the scenario catalog, the built-in scheduler definitions) are
# compiled into their module. The generated function returns a span of
# TYPE {file name, text}, sorted by file name.
# Usage: cmake -DDIR=<dir> -DOUT=<generated .cpp> -DHEADER=<include declaring TYPE and FUNC>
#              -DNAMESPACE=<ns> -DTYPE=<struct> -DFUNC=<function> [-DREQUIRED=ON]
#              -P EmbedTexts.cmake
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
  if(REQUIRED)
    message(FATAL_ERROR "no .toml files in ${DIR}")
  endif()
  set(table "std::span<const ${TYPE}> ${FUNC}() { return {}; }\n")
else()
  set(table "namespace {\nconstexpr ${TYPE} kFiles[] = {\n${entries}};\n}  // namespace\n\nstd::span<const ${TYPE}> ${FUNC}() { return kFiles; }\n")
endif()
get_filename_component(dir_name "${DIR}" NAME)
set(content "// Generated from ${dir_name}/*.toml by cmake/EmbedTexts.cmake; do not edit.
#include \"${HEADER}\"

namespace ${NAMESPACE} {

${table}
}  // namespace ${NAMESPACE}
")
# Rewrite only on change, so unchanged files do not trigger a rebuild.
file(WRITE "${OUT}.tmp" "${content}")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
