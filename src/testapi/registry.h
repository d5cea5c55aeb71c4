// The tests of a test binary: KTSTR_TEST adds each to this registry while
// the program starts (before main), test_main lists, runs and finds them.
// Registration only records; validate_tests() judges every entry at once,
// so one bad test is one line and the binary refuses to list or run.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "testapi/context.h"
#include "testapi/options.h"

namespace ktstr {

using TestFn = TestResult (*)(Context&);

struct TestCase {
  std::string name;
  TestOptions options;
  TestFn fn = nullptr;
  std::string file;  // where KTSTR_TEST was written, for messages
  int line = 0;
};

// In registration order (within a file, order of definition).
const std::vector<TestCase>& all_tests();
const TestCase* find_test(std::string_view name);

// One message per bad test: "file.cpp:12: test 'x': <what is wrong>; <what
// to do>". Checks the name ([A-Za-z0-9_], at most 64, unique), the
// topology, the duration, the description and the thresholds.
std::vector<std::string> validate_tests(const std::vector<TestCase>& tests);

namespace detail {
bool register_test(const char* name, TestOptions options, TestFn fn, const char* file, int line);
inline TestOptions make_options(TestOptions options = {}) { return options; }
}  // namespace detail

}  // namespace ktstr
