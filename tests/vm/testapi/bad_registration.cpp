// Two bad registrations: --list must refuse with one line per bad test.
#include "testapi/ktstr_test.h"

KTSTR_TEST(fine, {.description = "A valid test next to the bad ones"}) {
  return ktstr::run(ctx, {ktstr::CgroupDef("a").workers(1)});
}

KTSTR_TEST(bad_topology, {.topology = "2n3l2c1t", .description = "An impossible topology"}) {
  return ktstr::run(ctx, {ktstr::CgroupDef("a").workers(1)});
}

KTSTR_TEST(no_description, {.topology = "1n1l2c1t"}) {
  return ktstr::run(ctx, {ktstr::CgroupDef("a").workers(1)});
}
