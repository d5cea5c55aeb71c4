# ktstr_module(NAME SOURCES ... DEPS ...): one static library per folder.
# Include paths are rooted at src/, so code says #include "wire/frame.h".
function(ktstr_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPS" ${ARGN})
  add_library(ktstr_${name} STATIC ${M_SOURCES})
  target_include_directories(ktstr_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(ktstr_${name} PUBLIC ${M_DEPS})
endfunction()

# ktstr_unit_test(NAME SOURCES ... DEPS ...): a gtest binary labelled "unit".
function(ktstr_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_DEPS} GTest::gtest GTest::gtest_main)
  include(GoogleTest)
  gtest_discover_tests(${name} TEST_PREFIX "${name}." PROPERTIES LABELS unit DISCOVERY_TIMEOUT 30)
endfunction()
