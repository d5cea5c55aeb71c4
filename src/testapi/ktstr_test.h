// Scheduler tests in C++: the public API of a ktstr test binary.
//
//   #include "testapi/ktstr_test.h"
//
//   KTSTR_TEST(steady_pair, {.topology = "1n2l2c1t", .duration_s = 3,
//                            .description = "two cgroups share fairly"}) {
//     return ktstr::run(ctx, {ktstr::CgroupDef("a").workers(2),
//                             ktstr::CgroupDef("b").workers(2).work(ktstr::WorkType::kMixed)});
//   }
//
// The binary (linked with ktstr_test_main, or with KTSTR_TEST_MAIN()) runs
// each test in a fresh VM of the test's topology: `--list` prints the test
// names, `--run NAME` runs one, no arguments runs them all. Inside the VM
// the same binary is /init: it runs the body and reports the workers'
// results, which the host judges with the checks. cmake/KtstrTests.cmake
// builds such binaries and registers every test with ctest.
#pragma once

#include "testapi/builders.h"
#include "testapi/context.h"
#include "testapi/options.h"
#include "testapi/registry.h"

namespace ktstr {

// The whole program: the guest agent when it is the VM's PID 1, the host
// driver everywhere else. Returns main()'s exit status: 0 when every test
// run passed or was skipped, 1 when one failed, 2 on bad arguments or a
// bad test registration.
int test_main(int argc, char** argv);

}  // namespace ktstr

// Defines and registers a test: KTSTR_TEST(name, {TestOptions...}) { body }.
// The body sees `ctx` (a ktstr::Context&) and returns a ktstr::TestResult.
#define KTSTR_TEST(name, ...)                                                           \
  static ::ktstr::TestResult ktstr_test_body_##name(::ktstr::Context& ctx);             \
  [[maybe_unused]] static const bool ktstr_test_registered_##name =                     \
      ::ktstr::detail::register_test(#name, ::ktstr::detail::make_options(__VA_ARGS__), \
                                     &ktstr_test_body_##name, __FILE__, __LINE__);      \
  static ::ktstr::TestResult ktstr_test_body_##name([[maybe_unused]] ::ktstr::Context& ctx)

// For a binary that does not link ktstr_test_main.
#define KTSTR_TEST_MAIN() \
  int main(int argc, char** argv) { return ::ktstr::test_main(argc, argv); }
