// main() of a ktstr C++ test binary (library ktstr_test_main).
#include "testapi/ktstr_test.h"

int main(int argc, char** argv) { return ktstr::test_main(argc, argv); }
