# Every third-party dependency, all from Debian packages
# (scripts/install-deps installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3.10 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark)
pkg_check_modules(TOMLPP REQUIRED IMPORTED_TARGET tomlplusplus)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)
pkg_check_modules(LIBELF REQUIRED IMPORTED_TARGET libelf)
pkg_check_modules(LIBARCHIVE REQUIRED IMPORTED_TARGET libarchive)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LZMA REQUIRED IMPORTED_TARGET liblzma)
pkg_check_modules(LZ4 REQUIRED IMPORTED_TARGET liblz4)

# fmt and toml++ are used header-only: the guest agent is a static binary and
# Debian ships neither as a static archive. Modules link these, never
# fmt::fmt / PkgConfig::TOMLPP directly.
add_library(ktstr_fmt INTERFACE)
target_compile_definitions(ktstr_fmt INTERFACE FMT_HEADER_ONLY=1)
target_include_directories(ktstr_fmt INTERFACE $<TARGET_PROPERTY:fmt::fmt,INTERFACE_INCLUDE_DIRECTORIES>)
add_library(ktstr::fmt ALIAS ktstr_fmt)
add_library(ktstr_tomlpp INTERFACE)
target_compile_definitions(ktstr_tomlpp INTERFACE TOML_HEADER_ONLY=1)
target_include_directories(ktstr_tomlpp INTERFACE ${TOMLPP_INCLUDE_DIRS})
add_library(ktstr::tomlpp ALIAS ktstr_tomlpp)
