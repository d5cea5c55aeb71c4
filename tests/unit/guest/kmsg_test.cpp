#include "guest/kmsg.h"

#include <gtest/gtest.h>

namespace ktstr::guest {
namespace {

TEST(Kmsg, FormatsLikeDmesg) {
  EXPECT_EQ(format_kmsg_record("6,339,5140900,-;NET: Registered PF_INET6 protocol family\n"),
            "[    5.140900] NET: Registered PF_INET6 protocol family\n");
  EXPECT_EQ(format_kmsg_record("0,1,0,-;x\n"), "[    0.000000] x\n");
  EXPECT_EQ(format_kmsg_record("4,2,123456789012,c;late\n"), "[123456.789012] late\n");
}

TEST(Kmsg, DropsDictionaryLines) {
  EXPECT_EQ(format_kmsg_record("6,3,1000000,-;usb 1-1: new device\n SUBSYSTEM=usb\n"
                               " DEVICE=c189:1\n"),
            "[    1.000000] usb 1-1: new device\n");
}

TEST(Kmsg, KeepsEscapesAndSemicolonsInText) {
  EXPECT_EQ(format_kmsg_record("6,4,7,-;a;b\\x0ac\n"), "[    0.000007] a;b\\x0ac\n");
}

TEST(Kmsg, PassesThroughOddRecords) {
  EXPECT_EQ(format_kmsg_record("no prefix here"), "no prefix here\n");
  EXPECT_EQ(format_kmsg_record("no prefix\nbut; later\n"), "no prefix\nbut; later\n");
  EXPECT_EQ(format_kmsg_record("6,1;missing timestamp\n"), "missing timestamp\n");
  EXPECT_EQ(format_kmsg_record("6,1,12x,-;bad timestamp\n"), "bad timestamp\n");
  EXPECT_EQ(format_kmsg_record(""), "\n");
}

}  // namespace
}  // namespace ktstr::guest
